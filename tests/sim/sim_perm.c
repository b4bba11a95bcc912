/* The simulators' invertible identifier map (sim_perm.h). */
#include "sim_perm.h"

/* mul's inverse modulo space, by the extended Euclidean algorithm. */
static uint64_t inverse_mod(uint64_t mul, uint64_t space)
{
    int64_t r0 = (int64_t)space, r1 = (int64_t)mul, t0 = 0, t1 = 1;
    while (r1 != 0) {
        int64_t q = r0 / r1, r = r0 - q * r1, t = t0 - q * t1;
        r0 = r1;
        r1 = r;
        t0 = t1;
        t1 = t;
    }
    return (uint64_t)((t0 % (int64_t)space + (int64_t)space) % (int64_t)space);
}

sim_perm_t sim_perm_make(uint64_t space, uint64_t mul, uint64_t add)
{
    return (sim_perm_t){.space = space, .mul = mul % space, .add = add % space, .mul_inverse = inverse_mod(mul, space)};
}

uint64_t sim_perm_apply(const sim_perm_t *p, uint64_t i)
{
    return (i % p->space * p->mul + p->add) % p->space;
}

uint64_t sim_perm_invert(const sim_perm_t *p, uint64_t m)
{
    return (m % p->space + p->space - p->add) % p->space * p->mul_inverse % p->space;
}
