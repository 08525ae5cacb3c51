/*
 * pgs_edges — a host's edges as the other processes find them: how many run
 * ([service.edge] processes, auto: one per CPU), where edge i listens for
 * workers ([broker] bind, "{i}" replaced by its instance number; default
 * ipc://$PEGASUS_HOME/broker-{i}.sock) and which edges a worker or
 * pegasusctl connects to ([broker] endpoints; default every local edge's
 * bind). One module, so that the edge, the workers and pegasusctl cannot
 * disagree about it.
 */
#ifndef PGS_EDGES_H
#define PGS_EDGES_H

#include "pgs_config.h"

#include <stddef.h>

/* The number of edges of this host (1..PGS_CONF_MAX_EDGES). */
int pgs_edges_count(const pgs_config_t *cfg);

/* Edge instance's worker endpoint into out. 0, or -1 when it does not
 * fit. */
int pgs_edges_bind(const pgs_config_t *cfg, const char *home, int instance, char *out, size_t len);

/* The endpoints to connect to, separated by commas, into out. 0, or -1 when
 * they do not fit. */
int pgs_edges_endpoints(const pgs_config_t *cfg, const char *home, char *out, size_t len);

#endif
