/*
 * sim_perm: an invertible affine map i -> (i * mul + add) mod space, how the simulators turn a record's index into
 * an identifier that looks random (neighbouring records get unrelated numbers) and back again without a table.
 * mul must be coprime with space (for a power of ten: odd and not a multiple of 5); space * space must fit in 64
 * bits.
 */
#ifndef SIM_PERM_H
#define SIM_PERM_H

#include <stdint.h>

typedef struct sim_perm {
    uint64_t space, mul, add, mul_inverse;
} sim_perm_t;

sim_perm_t sim_perm_make(uint64_t space, uint64_t mul, uint64_t add);
/* The number of index i (i < space). */
uint64_t sim_perm_apply(const sim_perm_t *p, uint64_t i);
/* The index whose number is m (m < space). */
uint64_t sim_perm_invert(const sim_perm_t *p, uint64_t m);

#endif
