// Header hygiene: including vecstore.h twice must be harmless in C++ too.
#include "vecstore.h"
#include "vecstore.h"

extern "C" int vecstore_hygiene_twice_cxx(void);
extern "C" int vecstore_hygiene_twice_cxx(void) { return static_cast<int>(VECSTORE_LOCKED); }
