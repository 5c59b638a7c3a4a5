/* ISC license: see LICENSE. */

#ifndef KETCH_SMTPTX_H
#define KETCH_SMTPTX_H

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "rjob.h"
#include "smtpclient.h"
#include "smtpreply.h"

/*
 * One SMTP mail transaction (RFC 5321 §3.3) for one job (lib/rjob) on
 * an open session (lib/smtpclient, after EHLO): MAIL, RCPT and DATA,
 * pipelined when the server offers it (RFC 2920), then the body. The
 * job's recipients without a result get theirs from the replies. Many
 * transactions may follow one another on a connection: the smtptx
 * lasts as long as the connection, and remembers a transaction left
 * midway (RSET before the next, §4.1.1.5) and whether the connection
 * was reused.
 *
 * A transaction is two calls, so that the caller can log where the
 * message goes between them: smtptx_begin (the message fits what EHLO
 * said, the last transaction is cleared, the recipients are chosen),
 * then smtptx_run. Each returns what the transaction left behind:
 *   SMTPTX_GO     begin only: go on with smtptx_run
 *   SMTPTX_NEXT   every recipient has its result; the connection takes the next job
 *   SMTPTX_CLOSED every recipient has its result; the connection is closed (lost, or a 421)
 *   SMTPTX_AGAIN  the connection is closed and nothing of the job was accepted on a reused
 *                 one (the server hung up between transactions): the job goes elsewhere, as new
 *   SMTPTX_ERROR  out of memory (errno): the results are unknown
 * When the host failed (a reply or an I/O error that ends the
 * connection's use), t->failed is set, with t->fail the reason ("stage:
 * why") and t->failperm whether it is permanent; the caller says so.
 *
 * Host and ip (for the texts of results) are the caller's strings.
 */

#define SMTPTX_TIMEOUT_DATA_END 600   /* RFC 5321 §4.5.3.2.6: 10 minutes for the reply to the final dot */
#define SMTPTX_TIMEOUT_QUIT 10

enum smtptx_r { SMTPTX_GO, SMTPTX_NEXT, SMTPTX_CLOSED, SMTPTX_AGAIN, SMTPTX_ERROR } ;

typedef struct smtptx_s smtptx, *smtptx_ref ;
struct smtptx_s
{
  char const *host ;
  char const *ip ;
  unsigned int tcommand ;   /* seconds for a command's reply (§4.5.3.2) */
  unsigned int tdata ;      /* seconds per block of the body (§4.5.3.2.5) */
  int txopen ;              /* a transaction was left midway: RSET first */
  unsigned int ntx ;        /* transactions begun on the connection */
  genalloc rcpts ;          /* unsigned int: the recipients of the current transaction */
  int failed ;
  int failperm ;
  stralloc fail ;           /* NUL-terminated when failed */
} ;
#define SMTPTX_ZERO { .host = "", .ip = "", .tcommand = 300, .tdata = 180, .txopen = 0, .ntx = 0, .rcpts = GENALLOC_ZERO, .failed = 0, .failperm = 0, .fail = STRALLOC_ZERO }

/* a new connection to host[ip]: no transaction yet */
extern void smtptx_init (smtptx *, char const *, char const *) ;

/* SMTPTX_GO, SMTPTX_NEXT (the message cannot go to this server: the job's results say why), or the RSET's failure */
extern enum smtptx_r smtptx_begin (smtptx *, smtpc *, smtpreply_ext const *, rjob *) ;
#define smtptx_nrcpts(t) genalloc_len(unsigned int, &(t)->rcpts)

/* the transaction: SMTPTX_NEXT, SMTPTX_CLOSED, SMTPTX_AGAIN or SMTPTX_ERROR */
extern enum smtptx_r smtptx_run (smtptx *, smtpc *, smtpreply_ext const *, rjob *) ;

extern void smtptx_free (smtptx *) ;

#endif
