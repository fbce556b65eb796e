/*
 * proto: what every incremental wire parser returns.
 *
 * A parser is fed whatever bytes have arrived, however they were split:
 * parse(state, buf, len, &used). It consumes up to len bytes, reports how
 * many in *used, and returns one of these. Bytes after a complete message are
 * left unconsumed (pipelined data belongs to whatever comes next).
 */
#ifndef MASS_PROTO_H
#define MASS_PROTO_H

enum proto_result {
	PROTO_MORE = 0,   /* consumed everything given; the message is incomplete */
	PROTO_DONE = 1,   /* a complete message; *used says where it ended */
	PROTO_ERROR = -1  /* malformed; the parser's `error` field says why */
};

#endif
