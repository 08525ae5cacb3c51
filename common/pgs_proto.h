/*
 * pgs_proto — the wire protocol between the edge (a ROUTER, the broker) and
 * its peers (workers and clients such as pegasusctl, all DEALERs).
 *
 * A message is a ZeroMQ multipart message. Frame 0 is the protocol version
 * "PGS3"; frame 1 is one command byte; the rest depends on the command
 * (the ROUTER's identity frame comes before all of these on the edge side).
 *
 *   READY      worker → edge   [service] [instance] [capacity: decimal 1..1024]
 *   HEARTBEAT  both ways       (nothing)
 *   REQUEST    edge → worker   [id] [service] [route] [context] [params JSON]
 *                              [flags] [body]
 *              client → edge   the same: the edge picks a worker of [service],
 *                              gives the request its own id and relays the reply
 *   BODY       with a REQUEST  [id] [flags] [bytes]   (the rest of its body)
 *   REPLY      worker → edge   [id] [status: decimal 100..599] [flags]
 *              edge → client   [headers] [meta] [body]
 *   CHUNK      with a REPLY    [id] [bytes]           (the rest of its body,
 *                              or the next piece of its stream)
 *   END        with a REPLY    [id] [outcome: "ok" | "failed"] [meta]
 *   DISCONNECT both ways       (nothing: the peer is going away)
 *
 * flags is a decimal bit set. PGS_PROTO_MORE: the body continues — in BODY
 * messages after a REQUEST (the last one without MORE), in CHUNKs ended by
 * an END after a REPLY. PGS_PROTO_STREAM (REPLY only): the reply is an event
 * stream; its CHUNKs are written to the client as they come and its END
 * says how the stream ended. A REPLY with neither flag is complete.
 *
 * A body larger than PGS_PROTO_PIECE always travels in pieces of at most
 * that size (pgs_proto_send_whole does it), so no
 * message comes near the peer's ZMQ_MAXMSGSIZE and one large body never
 * holds a connection for long. A whole body is at most PGS_PROTO_MAX_TOTAL;
 * larger ones are refused by the sender (EMSGSIZE) and by the assembler.
 *
 * meta carries what the edge acts on besides what it relays: the usage
 * counts of the request, the bot it concerned, whether it was an idempotent
 * replay, and token-state invalidations (pgs_meta.h has its text form).
 * END's meta completes REPLY's: a stream's counts are known at its end.
 *
 * id is a decimal u64 chosen by the sender of the REQUEST. The context is
 * flat fields, "name=value" lines (pgs_ctx.h: request id, client ip, and for
 * a token's request its user, workspace, role, plan, token id and scopes),
 * which the edge builds and a worker reads without a JSON parser; workers
 * trust it and never see a token. A REPLY's headers are flat lines too,
 * "Name: value" (pgs_headers.h), for the client. (PGS3: the context and the
 * headers were JSON objects in PGS2.)
 * params is a JSON object (path parameters, query, selected headers). Every
 * frame is bounded (PGS_PROTO_MAX_*); a message that breaks any rule is
 * rejected whole by pgs_proto_decode and never asserted on. A message of
 * another version is rejected as such (PGS_PROTO_EVERSION), so that a peer
 * left over from an older release is refused with one clear log line.
 */
#ifndef PGS_PROTO_H
#define PGS_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define PGS_PROTO_VERSION "PGS3"
#define PGS_PROTO_MAX_NAME 64            /* service, instance, route */
#define PGS_PROTO_MAX_JSON (256 * 1024)  /* context, params, headers, meta */
#define PGS_PROTO_MAX_BODY (16u << 20)   /* the body frame of one message */
#define PGS_PROTO_PIECE (1u << 20)       /* bodies larger than this go in pieces */
#define PGS_PROTO_MAX_TOTAL ((size_t)256 << 20) /* a whole body, all pieces */
#define PGS_PROTO_MAX_FRAMES 9
#define PGS_PROTO_MAX_CAPACITY 1024

typedef enum {
    PGS_PROTO_READY = 1,
    PGS_PROTO_HEARTBEAT = 2,
    PGS_PROTO_REQUEST = 3,
    PGS_PROTO_REPLY = 4,
    PGS_PROTO_CHUNK = 5,
    PGS_PROTO_END = 6,
    PGS_PROTO_DISCONNECT = 7,
    PGS_PROTO_BODY = 8,
} pgs_proto_cmd_t;

/* flags of REQUEST, BODY and REPLY */
#define PGS_PROTO_MORE 1u
#define PGS_PROTO_STREAM 2u

/* pgs_proto_decode's answer for a message of another protocol version. */
#define PGS_PROTO_EVERSION (-2)

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
    unsigned flags;   /* REQUEST, BODY, REPLY */
    int ok;           /* END: 1 "ok", 0 "failed" */
    unsigned capacity;
    const char *service;
    const char *instance;
    const char *route;
    const char *context;
    const char *params;
    const char *headers;
    const char *meta; /* REPLY, END: "" when there is none */
    const void *body; /* body of REQUEST/REPLY, bytes of BODY/CHUNK */
    size_t body_len;
} pgs_proto_msg_t;

/* Decodes frames[0..n) (without any routing identity). Text fields are
 * copied, NUL-terminated, into scratch (scratch_len bytes; PGS_PROTO_MAX_JSON
 * * 3 + 4 * PGS_PROTO_MAX_NAME is always enough). Returns 0,
 * PGS_PROTO_EVERSION for a message of another version ("PGS" and one
 * other character), or -1 when the message is malformed: unknown command,
 * wrong frame count, a bad number or flag, an oversized frame, or a NUL
 * inside a text frame. */
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

/* Sends a REQUEST (msg->flags is ignored) or a REPLY that is not a stream,
 * with a body of any size up to PGS_PROTO_MAX_TOTAL: one message when it
 * fits in PGS_PROTO_PIECE, else the REQUEST or REPLY with MORE and the first
 * piece, then BODY messages or CHUNKs and an END "ok". Returns 0, or -1 with
 * errno as pgs_proto_send (EMSGSIZE, before anything was sent, for a body
 * over PGS_PROTO_MAX_TOTAL). A failure after the first message leaves the
 * peer with a body that never completes: it gives up on it by its deadline. */
int pgs_proto_send_whole(void *socket, const void *identity, size_t identity_len,
                         const pgs_proto_msg_t *msg);

/* A body being put together from its pieces. */
typedef struct {
    char *data; /* NUL-terminated (one byte past len) */
    size_t len, cap;
} pgs_proto_body_t;

/* Appends a piece. Returns 0, or -1 (the body is freed and emptied) when
 * the whole would pass PGS_PROTO_MAX_TOTAL or memory runs out. */
int pgs_proto_body_add(pgs_proto_body_t *b, const void *data, size_t len);
void pgs_proto_body_free(pgs_proto_body_t *b);

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
