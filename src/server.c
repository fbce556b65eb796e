/* server: the process-wide state. See server.h. */
#include "server.h"

struct server server;
