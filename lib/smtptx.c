/* ISC license: see LICENSE. */

#include <errno.h>

#include <skalibs/types.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "rjob.h"
#include "smtpclient.h"
#include "smtpreply.h"
#include "smtptx.h"

void smtptx_init (smtptx *t, char const *host, char const *ip)
{
  t->host = host ;
  t->ip = ip ;
  t->txopen = 0 ;
  t->ntx = 0 ;
  t->failed = 0 ;
}

/* the host failed: what, and why if any. 1, or 0 (ENOMEM) */
static int fail (smtptx *t, int perm, char const *what, char const *why)
{
  t->fail.len = 0 ;
  t->failed = 1 ;
  t->failperm = perm ;
  return stralloc_cats(&t->fail, what) && (!why || (stralloc_catb(&t->fail, ": ", 2) && stralloc_cats(&t->fail, why)))
    && stralloc_0(&t->fail) ;
}

/* the host failed with an SMTP reply; its text is the reason, a 5xx a permanent one */
static int fail_reply (smtptx *t, smtpc const *c, char const *stage)
{
  t->fail.len = 0 ;
  t->failed = 1 ;
  t->failperm = smtpreply_class(&c->reply) == 5 ;
  return stralloc_cats(&t->fail, stage) && stralloc_catb(&t->fail, ": ", 2) && smtpreply_oneline(&c->reply, &t->fail) && stralloc_0(&t->fail) ;
}

/* the host failed on an I/O error: the connection is unusable */
static enum smtptx_r fail_io (smtptx *t, smtpc *c, char const *stage, enum smtptx_r r)
{
  int ok = fail(t, 0, stage, smtpc_error(c)) ;
  smtpc_close(c) ;
  return ok ? r : SMTPTX_ERROR ;
}

/* a reply that ends the transaction: 421 closes the connection (RFC 5321 §3.8), the rest goes elsewhere */
static enum smtptx_r after_reply (smtptx *t, smtpc *c, char const *stage)
{
  if (c->reply.code != 421) return SMTPTX_NEXT ;
  if (!fail_reply(t, c, stage)) return SMTPTX_ERROR ;
  smtpc_close(c) ;
  return SMTPTX_CLOSED ;
}

/* the connection broke between replies: the rest of the batch goes elsewhere */
static enum smtptx_r dropped (smtptx *t, smtpc *c)
{
  return fail_io(t, c, "connection lost", SMTPTX_CLOSED) ;
}

/* the connection broke during the transaction: nothing is known to be delivered */
static enum smtptx_r lost (smtptx *t, smtpc *c, rjob *j)
{
  stralloc *s = &j->scratch ;
  char const *why = smtpc_error(c) ;
  s->len = 0 ;
  if (!stralloc_cats(s, "connection to ") || !stralloc_cats(s, t->host) || !stralloc_cats(s, "[")
   || !stralloc_cats(s, t->ip) || !stralloc_cats(s, "] lost during the transaction: ") || !stralloc_cats(s, why)
   || !rjob_set_all(j, RJOB_TEMP, s->s, s->len, RJOB_PENDING) || !rjob_set_all(j, RJOB_TEMP, s->s, s->len, RJOB_ACCEPTED)
   || !fail(t, 0, "connection lost during a transaction", why)) return SMTPTX_ERROR ;
  smtpc_close(c) ;
  return SMTPTX_CLOSED ;
}

/* what the server said in EHLO rules out: a message it cannot take fails unsent. 1: go on, 0: it fails, -1: no memory */
static int fits (smtptx const *t, smtpreply_ext const *e, rjob *j)
{
  if (j->utf8 && !e->smtputf8)
  {
    static char const s[] = "553 5.6.7 the destination does not support SMTPUTF8 (RFC 6531 3.2)" ;
    return rjob_set_all(j, RJOB_PERM, s, sizeof(s) - 1, RJOB_PENDING) ? 0 : -1 ;
  }
  if (e->hassize && e->size && j->size > e->size)
  {
    stralloc *s = &j->scratch ;
    char a[UINT64_FMT], b[UINT64_FMT] ;
    a[uint64_fmt(a, j->size)] = 0 ;
    b[uint64_fmt(b, e->size)] = 0 ;
    s->len = 0 ;
    if (!stralloc_cats(s, "552 5.3.4 message size ") || !stralloc_cats(s, a) || !stralloc_cats(s, " exceeds the limit ")
     || !stralloc_cats(s, b) || !stralloc_cats(s, " of ") || !stralloc_cats(s, t->host)
     || !rjob_set_all(j, RJOB_PERM, s->s, s->len, RJOB_PENDING)) return -1 ;
    return 0 ;
  }
  return 1 ;
}

/* the last transaction was left midway (§4.1.1.5): clear it before the next MAIL */
static enum smtptx_r rset (smtptx *t, smtpc *c)
{
  if (!smtpc_command(c, "RSET", 0, t->tcommand)) return fail_io(t, c, "RSET", SMTPTX_AGAIN) ;
  if (smtpreply_class(&c->reply) != 2)
  {
    if (!fail_reply(t, c, "RSET")) return SMTPTX_ERROR ;
    smtpc_quit(c, SMTPTX_TIMEOUT_QUIT) ;
    return SMTPTX_AGAIN ;
  }
  t->txopen = 0 ;
  return SMTPTX_GO ;
}

enum smtptx_r smtptx_begin (smtptx *t, smtpc *c, smtpreply_ext const *e, rjob *j)
{
  unsigned int i = 0 ;
  enum smtptx_r r ;
  int f = fits(t, e, j) ;
  t->failed = 0 ;
  if (f < 0) return SMTPTX_ERROR ;
  if (!f) return SMTPTX_NEXT ;
  if (t->txopen && (r = rset(t, c)) != SMTPTX_GO) return r ;
  t->ntx++ ;
  /* the recipients of this transaction: those without a result yet */
  genalloc_setlen(unsigned int, &t->rcpts, 0) ;
  for (; i < j->nrcpt ; i++)
    if (rjob_status(j, i) == RJOB_PENDING && !genalloc_append(unsigned int, &t->rcpts, &i)) return SMTPTX_ERROR ;
  return SMTPTX_GO ;
}

/* a server that says 354 with no recipient gets an empty message, which it must refuse */
static int empty_message (smtptx *t, smtpc *c)
{
  return smtpc_put(c, ".", 0, 0) && smtpc_flush(c, t->tdata) && smtpc_reply(c, SMTPTX_TIMEOUT_DATA_END) ;
}

/*
 * MAIL, and under PIPELINING (RFC 2920 §3.1) the RCPTs and DATA with it
 * in one write, then MAIL's reply. On a reused connection, no reply or a
 * 421 means the server hung up after the last transaction: SMTPTX_AGAIN.
 */
static enum smtptx_r mail (smtptx *t, smtpc *c, smtpreply_ext const *e, rjob *j)
{
  unsigned int const *todo = genalloc_s(unsigned int, &t->rcpts) ;
  unsigned int n = smtptx_nrcpts(t), i ;
  int reused = t->ntx > 1 ;
  char fmt[UINT64_FMT] ;
  fmt[uint64_fmt(fmt, j->size)] = 0 ;
  if (!stralloc_cats(&c->out, "MAIL FROM:<") || !stralloc_cats(&c->out, j->sender) || !stralloc_cats(&c->out, ">")
   || (e->hassize && (!stralloc_cats(&c->out, " SIZE=") || !stralloc_cats(&c->out, fmt)))
   /* RFC 6152: an 8-bit body to a server without 8BITMIME is sent as is, as most MTAs do */
   || (j->eightbit && e->eightbit && !stralloc_cats(&c->out, " BODY=8BITMIME"))
   || (j->utf8 && !stralloc_cats(&c->out, " SMTPUTF8"))
   || !smtpc_put(c, "", 0, 0)) return SMTPTX_ERROR ;
  if (e->pipelining)
  {
    for (i = 0 ; i < n ; i++) if (!smtpc_put(c, "RCPT TO:<", j->rcpts[todo[i]], ">")) return SMTPTX_ERROR ;
    if (!smtpc_put(c, "DATA", 0, 0)) return SMTPTX_ERROR ;
  }
  if (!smtpc_flush(c, t->tcommand) || !smtpc_reply(c, t->tcommand))
    return reused ? fail_io(t, c, "connection closed before MAIL", SMTPTX_AGAIN) : lost(t, c, j) ;
  if (reused && c->reply.code == 421)
  {
    if (!fail_reply(t, c, "MAIL")) return SMTPTX_ERROR ;
    smtpc_close(c) ;
    return SMTPTX_AGAIN ;
  }
  if (smtpreply_class(&c->reply) == 2) return SMTPTX_GO ;
  if (!rjob_set_all_reply(j, &c->reply, RJOB_PENDING)) return SMTPTX_ERROR ;
  if (e->pipelining)
  {
    /* the replies to the pipelined RCPTs and DATA still come; read them, send nothing */
    for (i = 0 ; i <= n ; i++) if (!smtpc_reply(c, t->tcommand)) return dropped(t, c) ;
    if (c->reply.code == 354 && !empty_message(t, c)) return dropped(t, c) ;
  }
  return after_reply(t, c, "MAIL") ;
}

/* the RCPT replies (each RCPT sent first, without PIPELINING), in the recipients' results: the count accepted, -1 when the connection broke, -2 out of memory */
static int rcpts (smtptx *t, smtpc *c, int pipelined, rjob *j)
{
  unsigned int const *todo = genalloc_s(unsigned int, &t->rcpts) ;
  unsigned int n = smtptx_nrcpts(t), i ;
  int naccepted = 0 ;
  for (i = 0 ; i < n ; i++)
  {
    if (!pipelined && (!smtpc_put(c, "RCPT TO:<", j->rcpts[todo[i]], ">") || !smtpc_flush(c, t->tcommand))) return -1 ;
    if (!smtpc_reply(c, t->tcommand)) return -1 ;
    if (smtpreply_class(&c->reply) == 2)
    {
      if (!rjob_set(j, todo[i], RJOB_ACCEPTED, "", 0)) return -2 ;
      naccepted++ ;
    }
    else if (!rjob_set_reply(j, todo[i], &c->reply)) return -2 ;
  }
  return naccepted ;
}

/* DATA (sent already under PIPELINING, else only with a recipient accepted) and its 354 */
static enum smtptx_r data (smtptx *t, smtpc *c, int pipelined, int naccepted, rjob *j)
{
  if (!pipelined)
  {
    /* every RCPT refused, no DATA sent: the server still holds our MAIL */
    if (!naccepted) { t->txopen = 1 ; return after_reply(t, c, "RCPT") ; }
    if (!smtpc_put(c, "DATA", 0, 0) || !smtpc_flush(c, t->tcommand)) return lost(t, c, j) ;
  }
  /* §4.5.3.2.3: 2 minutes for the reply to DATA */
  if (!smtpc_reply(c, t->tcommand < 120 ? t->tcommand : 120)) return lost(t, c, j) ;
  if (c->reply.code != 354)
  {
    if (!rjob_set_all_reply(j, &c->reply, RJOB_ACCEPTED)) return SMTPTX_ERROR ;
    t->txopen = 1 ;
    return after_reply(t, c, "DATA") ;
  }
  if (!naccepted)
  {
    if (!empty_message(t, c)) return dropped(t, c) ;
    return after_reply(t, c, "end of data") ;
  }
  return SMTPTX_GO ;
}

enum smtptx_r smtptx_run (smtptx *t, smtpc *c, smtpreply_ext const *e, rjob *j)
{
  enum smtptx_r r ;
  int naccepted ;
  t->failed = 0 ;
  if ((r = mail(t, c, e, j)) != SMTPTX_GO) return r ;
  naccepted = rcpts(t, c, e->pipelining, j) ;
  if (naccepted == -2) return SMTPTX_ERROR ;
  if (naccepted < 0) return lost(t, c, j) ;
  if ((r = data(t, c, e->pipelining, naccepted, j)) != SMTPTX_GO) return r ;
  /* the body, in blocks (§4.5.3.2.5: 3 minutes per block), then the reply to the final dot */
  if (!smtpc_data(c, j->wire.s, j->wire.len, t->tdata) || !smtpc_reply(c, SMTPTX_TIMEOUT_DATA_END)) return lost(t, c, j) ;
  if (!rjob_set_all_reply(j, &c->reply, RJOB_ACCEPTED)) return SMTPTX_ERROR ;
  return after_reply(t, c, "end of data") ;
}

void smtptx_free (smtptx *t)
{
  genalloc_free(unsigned int, &t->rcpts) ;
  stralloc_free(&t->fail) ;
}
