/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for the milter reply parser (lib/milter.h,
 * milter_reply_parse). The input: one octet choosing the stage the
 * replies answer (OPTNEG or an SMTP stage), the negotiated actions and
 * protocol flags (two big-endian words), then packets, each a command
 * octet, a 2-octet big-endian length and the data. Each packet's data
 * is copied into a buffer of its exact size, so that a read past it is
 * ASan's. Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/uint16.h>
#include <skalibs/uint32.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "milter.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

static char const stagecmds[] = "OCHMRTLNBE" ;

/* the reply the session would write: 4xx/5xx as the action says, each line "ddd-" or "ddd ", CR only before LF */
static void check_reply (milter const *m, int r)
{
  size_t i ;
  if (!m->reply.len) return ;
  if (m->reply.s[m->reply.len]) abort() ;
  if (m->reply.len < 3 || m->reply.s[0] != (r == MILTER_TEMPFAIL ? '4' : '5')) abort() ;
  for (i = 0 ; i < m->reply.len ; i++)
  {
    char c = m->reply.s[i] ;
    if (c == '\r' && (i + 1 >= m->reply.len || m->reply.s[i + 1] != '\n')) abort() ;
    if (c == '\n' && (!i || m->reply.s[i - 1] != '\r')) abort() ;
    if (c == '\n' && (m->reply.len - i < 4 || memcmp(m->reply.s + i + 1, m->reply.s, 3))) abort() ;
    if (!c) abort() ;
  }
}

static void check_mods (milter const *m, milter_mods const *mods, size_t before)
{
  size_t n = genalloc_len(milter_mod, &mods->list), i ;
  milter_mod const *x = genalloc_s(milter_mod, &mods->list) ;
  if (mods->data.len + mods->list.len > m->modmax) abort() ;
  for (i = before ; i < n ; i++)
  {
    uint32_t need ;
    if (x[i].a > mods->data.len || x[i].alen >= mods->data.len - x[i].a || mods->data.s[x[i].a + x[i].alen]) abort() ;
    if (x[i].b > mods->data.len || x[i].blen >= mods->data.len - x[i].b || mods->data.s[x[i].b + x[i].blen]) abort() ;
    switch (x[i].type)
    {
      case MILTER_MOD_ADDHDR : case MILTER_MOD_INSHDR : need = SMFIF_ADDHDRS ; break ;
      case MILTER_MOD_CHGHDR : need = SMFIF_CHGHDRS ; if (!x[i].index) abort() ; break ;
      case MILTER_MOD_REPLBODY : need = SMFIF_CHGBODY ; break ;
      case MILTER_MOD_ADDRCPT : need = SMFIF_ADDRCPT | SMFIF_ADDRCPT_PAR ; break ;
      case MILTER_MOD_DELRCPT : need = SMFIF_DELRCPT ; break ;
      case MILTER_MOD_CHGFROM : need = SMFIF_CHGFROM ; break ;
      case MILTER_MOD_QUARANTINE : need = SMFIF_QUARANTINE ; break ;
      default : abort() ;
    }
    if (!(m->actions & need)) abort() ;
    if (x[i].type == MILTER_MOD_ADDHDR || x[i].type == MILTER_MOD_INSHDR || x[i].type == MILTER_MOD_CHGHDR)
    {
      size_t j ;
      if (!x[i].alen) abort() ;
      for (j = 0 ; j < x[i].alen ; j++)
        if (mods->data.s[x[i].a + j] == ':' || (unsigned char)mods->data.s[x[i].a + j] <= 0x20) abort() ;
    }
  }
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  milter m = MILTER_ZERO ;
  milter_mods mods = MILTER_MODS_ZERO ;
  char const *s = (char const *)data ;
  size_t pos = 9 ;
  char stage ;
  unsigned int i ;
  if (size < 9) return 0 ;
  stage = stagecmds[(unsigned char)s[0] % (sizeof(stagecmds) - 1)] ;
  uint32_unpack_big(s + 1, &m.actions) ;
  uint32_unpack_big(s + 5, &m.pflags) ;
  m.actions &= MILTER_ACTIONS ;
  m.modmax = 4096 ;
  for (i = 0 ; i < SMFIM_N ; i++) m.symoff[i] = (size_t)-1 ;
  while (size - pos >= 3)
  {
    char cmd = s[pos] ;
    uint16_t len ;
    char *p ;
    size_t before = genalloc_len(milter_mod, &mods.list) ;
    int r ;
    uint16_unpack_big(s + pos + 1, &len) ;
    pos += 3 ;
    if (len > size - pos) len = size - pos ;
    p = malloc(len ? len : 1) ;
    if (!p) abort() ;
    memcpy(p, s + pos, len) ;
    pos += len ;
    m.err = 0 ;
    r = milter_reply_parse(&m, stage, cmd, p, len, stage == SMFIC_BODYEOB ? &mods : 0) ;
    free(p) ;
    if (r < -2 || r > MILTER_FAIL || r == MILTER_FAIL) abort() ;
    if (r == -1 && !m.err) abort() ;
    if (r == MILTER_REJECT || r == MILTER_TEMPFAIL) check_reply(&m, r) ;
    if (r != -2 && genalloc_len(milter_mod, &mods.list) != before) abort() ;
    check_mods(&m, &mods, before) ;
    if (stage == SMFIC_OPTNEG && r == MILTER_CONTINUE)
    {
      if (m.actions & ~(uint32_t)MILTER_ACTIONS || m.pflags & ~(uint32_t)(MILTER_PFLAGS | SMFIP_NODATA)) abort() ;
      for (i = 0 ; i < SMFIM_N ; i++)
        if (m.symoff[i] != (size_t)-1 && (m.symoff[i] >= m.syms.len || strlen(m.syms.s + m.symoff[i]) >= m.syms.len - m.symoff[i])) abort() ;
    }
  }
  milter_mods_free(&mods) ;
  stralloc_free(&m.reply) ;
  stralloc_free(&m.syms) ;
  stralloc_free(&m.buf) ;
  return 0 ;
}
