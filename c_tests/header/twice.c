/* Header hygiene: including vecstore.h twice must be harmless (include guard). */
#include "vecstore.h"
#include "vecstore.h"

int vecstore_hygiene_twice(void);
int vecstore_hygiene_twice(void) { return (int)VECSTORE_NOT_FOUND + (int)sizeof(vecstore_stats); }
