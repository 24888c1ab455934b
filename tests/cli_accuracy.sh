#!/bin/sh
# The accuracy bar of the whole method: on simulated static and
# laminar_flow data (3 angles, 260 frames: 100 233 points; parameters the
# data identify), CMC with 8 shards against one NUTS run on all points,
# default settings: every mean within 0.2 sd, every sd within 10 %
# (check_accuracy.py says why that bar is not Monte Carlo noise), with the
# importance correction applied. For the record, the same shards are then
# combined again without it (hcmc combine --no-importance).
. "$(dirname "$0")/cli_common.sh"
for mode in static laminar_flow; do
    "$hcmc" simulate -o $mode.h5 --mode $mode --frames 260 --angles -30,0,60 \
        --config-out $mode.yaml 2> /dev/null
    cp $mode.yaml one.yaml
    printf 'optimization:\n  cmc:\n    enable: false\n' >> one.yaml
    cp $mode.yaml cmc.yaml
    printf 'optimization:\n  cmc:\n    enable: true\n' >> cmc.yaml
    "$hcmc" run --config one.yaml -o $mode-one -q --no-plots > /dev/null
    "$hcmc" run --config cmc.yaml -o $mode-cmc --num-shards 8 -q --no-plots > cmc.txt
    grep -q 'shards: 8 ok' cmc.txt
    if [ $mode = static ]; then
        # the change of variables: one run sampled with every parameter on
        # its own coordinate gives the same posterior. Measured over seeds
        # 1-3, sd ratios of the two runs scatter by about 2.5 % (sigma,
        # identical in both coordinates, included) and means by about 0.02
        # sd, so 8 % and 0.1 sd are 3 of those and more.
        "$hcmc" run --config one.yaml -o $mode-onez -q --no-plots \
            --set optimization.cmc.per_shard_mcmc.sampling_space=per_parameter > /dev/null
        echo "== $mode: one run per parameter against one in rate-law coordinates"
        $py "$here/check_accuracy.py" $mode-one/summary.json $mode-onez/summary.json \
            --bar 0.1,0.08
    fi
    echo "== $mode: 8 shards against one run on all points"
    $py "$here/check_accuracy.py" $mode-one/summary.json $mode-cmc/summary.json
    grep -q '"applied": true' $mode-cmc/summary.json
    grep -q 'importance correction: applied (ESS' cmc.txt
    "$hcmc" combine $mode-cmc --no-importance --no-plots > r.txt
    grep -q '"importance": null' $mode-cmc/summary.json
    echo "== $mode: the same shards, not corrected"
    $py "$here/check_accuracy.py" $mode-one/summary.json $mode-cmc/summary.json \
        --report-only
done
echo "cli_accuracy: ok"
