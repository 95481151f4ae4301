/* The header the Zig module is translated from (build.zig: addTranslateC). */
#include <vecstore.h>
