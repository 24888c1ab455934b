# A real single-node SLURM cluster for the tests, sourced by them:
#   slurm_start DIR   writes DIR/slurm.conf, starts slurmctld and slurmd on
#                     localhost, waits until the node is idle, exports
#                     SLURM_CONF; the daemons' pids go to DIR/*.pid
#   slurm_stop DIR    stops them by those pids (call it from an EXIT trap:
#                     it also runs when a test fails)
# No munge: SLURM 22.05 still has auth/none. Facts: shared/CLUSTER.md.

slurm_start() {
    sd=$1
    mkdir -p "$sd/state" "$sd/spool" "$sd/log"
    if ! command -v slurmctld > /dev/null || ! command -v slurmd > /dev/null; then
        echo "slurm_start: slurmctld/slurmd not installed (make deps installs them)"
        return 1
    fi
    export SLURM_CONF="$sd/slurm.conf"
    # ports 6817/6818 (hex 1AA1/1AA2) are fixed: an earlier cluster must be
    # gone. (scontrol ping would tell too, but takes a minute to say that
    # no controller answers.)
    if awk '$4 == "0A" && ($2 ~ /:1AA1$/ || $2 ~ /:1AA2$/) { found = 1 }
            END { exit !found }' /proc/net/tcp /proc/net/tcp6 2> /dev/null; then
        echo "slurm_start: ports 6817/6818 are taken: is an earlier SLURM cluster up?"
        return 1
    fi
    mem=$(awk '/MemTotal/ { print int($2 / 1024 * 0.8) }' /proc/meminfo)
    cat > "$SLURM_CONF" << CONF
ClusterName=hcmctest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
StateSaveLocation=$sd/state
SlurmdSpoolDir=$sd/spool
SlurmctldPidFile=$sd/slurmctld.pid
SlurmdPidFile=$sd/slurmd.pid
SlurmctldLogFile=$sd/log/slurmctld.log
SlurmdLogFile=$sd/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=3600
SchedulerParameters=batch_sched_delay=0,sched_interval=1
NodeName=localhost CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
    slurmctld || return 1
    slurmd -N localhost || return 1
    i=0
    while [ "$(sinfo -h -o %T 2> /dev/null)" != idle ]; do
        i=$((i + 1))
        if [ $i -gt 300 ]; then
            echo "slurm_start: the node is not idle after 30 s:"
            sinfo 2>&1
            tail -5 "$sd/log/slurmctld.log" "$sd/log/slurmd.log"
            return 1
        fi
        sleep 0.1
    done
}

slurm_stop() {
    sd=$1
    for d in slurmd slurmctld; do
        [ -f "$sd/$d.pid" ] || continue
        pid=$(cat "$sd/$d.pid")
        kill -TERM "$pid" 2> /dev/null || continue
        i=0
        while kill -0 "$pid" 2> /dev/null && [ $i -lt 100 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        kill -KILL "$pid" 2> /dev/null || true
    done
}
