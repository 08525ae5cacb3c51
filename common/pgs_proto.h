/*
 * pgs_proto — the wire protocol between the edge (a ROUTER, the broker) and
 * its peers (workers and clients such as pegasusctl, all DEALERs).
 *
 * A message is a ZeroMQ multipart message. Frame 0 is the protocol version
 * "PGS1"; frame 1 is one command byte; the rest depends on the command
 * (the ROUTER's identity frame comes before all of these on the edge side).
 *
 *   READY      worker → edge   [service] [instance] [capacity: decimal 1..1024]
 *   HEARTBEAT  both ways       (nothing)
 *   REQUEST    edge → worker   [id] [service] [route] [context JSON] [params JSON] [body]
 *              client → edge   the same: the edge picks a worker of [service],
 *                              gives the request its own id and relays the reply
 *   REPLY      worker → edge   [id] [status: decimal 100..599] [headers JSON] [body]
 *              edge → client
 *   CHUNK      worker → edge   [id] [bytes]       (a piece of a streamed reply,
 *                              after a REPLY whose headers say "stream": true)
 *   END        worker → edge   [id]               (the stream is complete)
 *   DISCONNECT both ways       (nothing: the peer is going away)
 *
 * id is a decimal u64 chosen by the sender of the REQUEST. The context is a
 * JSON object the edge builds (authenticated user, workspace, role, token id,
 * scopes, request id, client ip); workers trust it and never see a token.
 * params is a JSON object (path parameters, query, selected headers). Every
 * frame is bounded (PGS_PROTO_MAX_*); a message that breaks any rule is
 * rejected whole by pgs_proto_decode and never asserted on.
 */
#ifndef PGS_PROTO_H
#define PGS_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define PGS_PROTO_VERSION "PGS1"
#define PGS_PROTO_MAX_NAME 64            /* service, instance, route */
#define PGS_PROTO_MAX_JSON (256 * 1024)  /* context, params, headers */
#define PGS_PROTO_MAX_BODY (16u << 20)   /* request and reply bodies */
#define PGS_PROTO_MAX_FRAMES 8
#define PGS_PROTO_MAX_CAPACITY 1024

typedef enum {
    PGS_PROTO_READY = 1,
    PGS_PROTO_HEARTBEAT = 2,
    PGS_PROTO_REQUEST = 3,
    PGS_PROTO_REPLY = 4,
    PGS_PROTO_CHUNK = 5,
    PGS_PROTO_END = 6,
    PGS_PROTO_DISCONNECT = 7,
} pgs_proto_cmd_t;

/* One frame: borrowed bytes. */
typedef struct {
    const void *data;
    size_t len;
} pgs_proto_frame_t;

/* A decoded message. Every pointer borrows from the frames it was decoded
 * from; text fields (service, instance, route, context, params, headers)
 * point at copies made NUL-terminated in the caller's scratch buffer. */
typedef struct {
    pgs_proto_cmd_t cmd;
    uint64_t id;
    int status;
    unsigned capacity;
    const char *service;
    const char *instance;
    const char *route;
    const char *context;
    const char *params;
    const char *headers;
    const void *body; /* body of REQUEST/REPLY, bytes of CHUNK */
    size_t body_len;
} pgs_proto_msg_t;

/* Decodes frames[0..n) (without any routing identity). Text fields are
 * copied, NUL-terminated, into scratch (scratch_len bytes; PGS_PROTO_MAX_JSON
 * * 3 + 4 * PGS_PROTO_MAX_NAME is always enough). Returns 0, or -1 when the
 * message is malformed: wrong version, unknown command, wrong frame count,
 * a bad number, an oversized frame, or a NUL inside a text frame. */
int pgs_proto_decode(const pgs_proto_frame_t *frames, size_t n, char *scratch,
                     size_t scratch_len, pgs_proto_msg_t *out);

/* Builds the frames of msg into out (at most PGS_PROTO_MAX_FRAMES, the
 * version and command first); numbers are formatted into numbuf (64 bytes).
 * Returns the frame count, or -1 for an unknown command. Frames borrow from
 * msg and numbuf. */
int pgs_proto_encode(const pgs_proto_msg_t *msg, char numbuf[64], pgs_proto_frame_t *out);

/* Sends msg on a ZeroMQ socket, preceded by an identity frame when
 * identity is not NULL. Non-blocking (ZMQ_DONTWAIT). Returns 0, or -1 with
 * errno EMSGSIZE (a frame over PGS_PROTO_MAX_BODY: nothing was sent, as the
 * peer would drop the connection for it) or from zmq (EHOSTUNREACH for an
 * unknown peer under ZMQ_ROUTER_MANDATORY, EAGAIN when the peer's queue is
 * full). */
int pgs_proto_send(void *socket, const void *identity, size_t identity_len,
                   const pgs_proto_msg_t *msg);

/* One received multipart message: the zmq parts it owns, the protocol
 * frames (without the identity) and, on a ROUTER, the sender's identity. */
typedef struct {
    zmq_msg_t parts[PGS_PROTO_MAX_FRAMES + 1];
    int nparts;
    pgs_proto_frame_t frames[PGS_PROTO_MAX_FRAMES];
    size_t nframes;
    unsigned char identity[256];
    size_t identity_len;
} pgs_proto_inbox_t;

/* Receives one whole multipart message without blocking. When
 * with_identity, the first part is the sender's identity. Returns 1 with
 * in filled (close it with pgs_proto_inbox_close), 0 when nothing is
 * waiting, -1 for a message with too many frames or a bad identity (already
 * read to its end and discarded). */
int pgs_proto_recv(void *socket, int with_identity, pgs_proto_inbox_t *in);

/* Closes the parts held by in; no-op when it holds none. */
void pgs_proto_inbox_close(pgs_proto_inbox_t *in);

/* The name of a command, for logs. */
const char *pgs_proto_cmd_name(int cmd);

#endif
