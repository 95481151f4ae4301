/* Found through the include directory that pkg-config (vecstore.pc) gives. */
#include <vecstore.h>
