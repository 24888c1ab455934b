/* Symbol visibility: the library is built with -fvisibility=hidden and only
 * declarations marked HCMC_API are exported from the shared object. */
#ifndef HCMC_EXPORT_H
#define HCMC_EXPORT_H
#if defined(HCMC_BUILDING) && defined(__GNUC__)
#define HCMC_API __attribute__((visibility("default")))
#else
#define HCMC_API
#endif
#endif
