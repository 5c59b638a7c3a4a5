/* ISC license: see LICENSE. */

/*
 * sendmail: the sendmail(8) interface that every Unix program uses to
 * send mail. It reads the message, completes its header (Date,
 * Message-ID, From when missing; Bcc removed), finds the recipients
 * (arguments, or the header with -t), and hands everything to enqueue
 * (lib/enqclient: enqueue-listen's socket when it is configured and
 * answers, else PROGRAMS/enqueue), whose exit code it returns. It needs
 * no daemon: the message waits in the spool until the scheduler runs.
 *
 * enqueue runs in session mode (-S): sendmail sends a dot-stuffed,
 * dot-terminated stream, so a sendmail killed halfway leaves nothing in
 * the queue instead of half a message; and enqueue says the queue id
 * first, so the Received field that starts the message can name it.
 * Lines longer than RFC 5322 allows are broken, not refused, and once
 * the message goes to enqueue the input is read to its end, even when
 * enqueue refuses it: a script writing it never dies of a broken pipe.
 *
 * -bp, -bs, -bi and -q exec queue-ls, smtp-session, newaliases and
 * queue-ctl; invoked as mailq or newaliases it acts as -bp or -bi.
 */

#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <pwd.h>

#include <skalibs/gccattributes.h>
#include <skalibs/types.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/bytestr.h>
#include <skalibs/skamisc.h>
#include <skalibs/random.h>
#include <skalibs/tai.h>

#include "exitcodes.h"
#include "address.h"
#include "addrlist.h"
#include "conf.h"
#include "queue.h"
#include "enqclient.h"
#include "filter.h"
#include "msgedit.h"

extern char **environ ;

#define USAGE "sendmail [ -C conf ] [ -t ] [ -i ] [ -f sender ] [ -F fullname ] [ -v ] [ -bm | -bp | -bs | -bi | -q ] [ recipient... ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)
#define dienomem() strerr_diefusys(KETCH_EX_TEMP, "allocate")

#define HDR_MAX (1 << 20)   /* the header section is held in memory: 1 MiB at most */
#define LINE_MAX_ 1000      /* RFC 5322 §2.1.1: 998 octets and CRLF */
#define RCPT_MAX 10000
#define NAME_MAX_ 200       /* a display name from -F or the password file */

enum mode_e { MODE_SEND, MODE_LIST, MODE_SMTP, MODE_ALIASES, MODE_RUNQ } ;

static conf c ;
static char const *conffile ;
static int errfd = -1 ;   /* -bs: the caller's stderr, kept for a failed exec */

/* ---- running the other programs ---- */

static void run (char const *, char const *const *) gccattr_noreturn ;
static void run (char const *prog, char const *const *args)
{
  stralloc path = STRALLOC_ZERO ;
  char const *argv[8] ;
  unsigned int n = 0 ;
  if (!conf_prog(&c, prog, &path)) dienomem() ;
  argv[n++] = path.s ;
  argv[n++] = "-C" ;
  argv[n++] = conffile ;
  for (; args && *args && n < 7 ; args++) argv[n++] = *args ;
  argv[n] = 0 ;
  execve(path.s, (char *const *)argv, environ) ;
  if (errfd >= 0) fd_move(2, errfd) ;
  strerr_diefusys(KETCH_EX_TEMP, "exec ", path.s) ;
}

/* ---- reading stdin ---- */

static char ibuf[65536] ;
static size_t ipos = 0, ilen = 0 ;
static int ieof = 0 ;

static int fill (void)
{
  ssize_t r ;
  if (ipos < ilen) return 1 ;
  if (ieof) return 0 ;
  r = fd_read(0, ibuf, sizeof(ibuf)) ;
  if (r < 0) strerr_diefusys(KETCH_EX_TEMP, "read the message") ;
  if (!r) { ieof = 1 ; return 0 ; }
  ipos = 0 ; ilen = (size_t)r ;
  return 1 ;
}

/*
 * Appends one line, with its LF if any, or its first max octets: 1 = a
 * line (the last one may lack its LF), 2 = max octets and no LF yet,
 * 0 = EOF and nothing appended.
 */
static int readline (stralloc *sa, size_t max)
{
  size_t start = sa->len ;
  while (fill())
  {
    char *nl = memchr(ibuf + ipos, '\n', ilen - ipos) ;
    size_t n = nl ? (size_t)(nl - (ibuf + ipos)) + 1 : ilen - ipos ;
    if (sa->len - start + n > max) { n = max - (sa->len - start) ; nl = 0 ; }
    if (!stralloc_catb(sa, ibuf + ipos, n)) dienomem() ;
    ipos += n ;
    if (nl) return 1 ;
    if (sa->len - start == max) return 2 ;
  }
  return sa->len > start ;
}

/*
 * Reads and drops the rest of the input after a refusal: a writer must
 * not die of SIGPIPE for it. Not from a terminal, where the person
 * typing reads the refusal at once.
 */
static void drain_input (void)
{
  if (isatty(0)) return ;
  while (fill()) ipos = ilen ;
}

/* the length of a line without its LF or CRLF */
static size_t content_len (char const *s, size_t n)
{
  if (n && s[n-1] == '\n') n-- ;
  if (n && s[n-1] == '\r') n-- ;
  return n ;
}

/* ---- writing to enqueue: LF line ends, dot-stuffed (RFC 5321 §4.5.2) ---- */

static stralloc out = STRALLOC_ZERO ;
static int outfd = -1 ;
static int broken = 0 ;   /* enqueue stopped reading: it will say why */
static int holding = 0 ;  /* local-filter: out holds the whole message in stored form, for the filters */

static void flush (void)
{
  if (!broken && out.len && allwrite(outfd, out.s, out.len) < out.len)
  {
    if (errno != EPIPE) strerr_diefusys(KETCH_EX_TEMP, "write to enqueue") ;
    broken = 1 ;
  }
  out.len = 0 ;
}

static void put (char const *s, size_t n)
{
  if (!stralloc_catb(&out, s, n)) dienomem() ;
  if (holding)
  {
    if (out.len > c.message_size) strerr_dief(KETCH_EX_PERM, "message larger than limit message-size") ;
    return ;
  }
  if (out.len >= 65536) flush() ;
}

/* one line; ins: a line made by breaking a longer one, which starts with an inserted space */
static void putpiece (char const *s, size_t n, int ins)
{
  if (ins) put(" ", 1) ;
  else if (!holding && n && s[0] == '.') put(".", 1) ;
  put(s, n) ;
  put("\n", 1) ;
}

static void putline (char const *s, size_t n)
{
  putpiece(s, n, 0) ;
}

/*
 * Where to break a line longer than max octets: at most max, never
 * inside a UTF-8 sequence (an octet 10xxxxxx starts no character; a
 * sequence has at most 4), never right after a CR (the break would make
 * it a CRLF, and a bare CR is enqueue's to refuse).
 */
static size_t cut_at (char const *s, size_t max)
{
  size_t k = max ;
  while (k > max - 3 && ((unsigned char)s[k] & 0xc0) == 0x80) k-- ;
  if (((unsigned char)s[k] & 0xc0) == 0x80) k = max ;
  if (s[k-1] == '\r') k-- ;
  return k ;
}

/*
 * RFC 5322 §2.1.1: a line is at most 998 octets. A longer body line is
 * broken as Postfix's smtp client breaks it (smtp_line_length_limit): a
 * line end and a space, so that no piece can be taken for a lone dot, a
 * MIME boundary or a From_ line; the space is the one octet added.
 */
static void put_body_line (char const *s, size_t n, int ins)
{
  for (;;)
  {
    size_t max = LINE_MAX_ - 2 - ins, k ;
    if (n <= max) break ;
    k = cut_at(s, max) ;
    putpiece(s, k, ins) ;
    s += k ; n -= k ; ins = 1 ;
  }
  putpiece(s, n, ins) ;
}

static int is_blank (char ch)
{
  return ch == ' ' || ch == '\t' ;
}

/*
 * A longer header line is folded (RFC 5322 §2.2.3) before the last
 * blank that fits and follows a non-blank, which changes nothing once
 * unfolded; with no such blank, it is broken as a body line is, and the
 * inserted space becomes part of the field's value.
 */
static void put_header_line (char const *s, size_t n)
{
  int ins = 0 ;
  for (;;)
  {
    size_t max = LINE_MAX_ - 2 - ins, k = max ;
    if (n <= max) break ;
    while (k && !(is_blank(s[k]) && !is_blank(s[k-1]))) k-- ;
    if (k) { putpiece(s, k, ins) ; ins = 0 ; }
    else { k = cut_at(s, max) ; putpiece(s, k, ins) ; ins = 1 ; }
    s += k ; n -= k ;
  }
  putpiece(s, n, ins) ;
}

/* ---- the header ---- */

typedef struct field_s field ;
struct field_s
{
  size_t start ;    /* offset in hdr of the first line */
  size_t len ;      /* every line of the field, line ends included */
  size_t namelen ;
} ;

static stralloc hdr = STRALLOC_ZERO ;
static genalloc fields = GENALLOC_ZERO ;   /* field */

/* RFC 5322 §3.6.8: field-name = 1*ftext, then ":" (§4.5.3 allows blanks before it) */
static size_t field_name_len (char const *s, size_t n)
{
  size_t i = 0 ;
  while (i < n && s[i] >= 33 && s[i] <= 126 && s[i] != ':') i++ ;
  if (!i) return 0 ;
  {
    size_t j = i ;
    while (j < n && (s[j] == ' ' || s[j] == '\t')) j++ ;
    if (j >= n || s[j] != ':') return 0 ;
  }
  return i ;
}

static int field_is (field const *f, char const *name)
{
  size_t n = strlen(name) ;
  return f->namelen == n && case_equalb(hdr.s + f->start, n, name) ;
}

static int has_field (char const *name)
{
  size_t n = genalloc_len(field, &fields), i = 0 ;
  for (; i < n ; i++) if (field_is(genalloc_s(field, &fields) + i, name)) return 1 ;
  return 0 ;
}

/*
 * Reads the header section. Returns the offset in hdr where the body
 * starts (a first body line that was not a header line is kept there),
 * and sets *end when the message ended inside the header (EOF, or a
 * lone dot without -i).
 */
static size_t read_header (int dots, int *end)
{
  int fromline = 0 ;
  for (;;)
  {
    size_t start = hdr.len, n, cl, namelen ;
    char const *line ;
    int r = readline(&hdr, HDR_MAX - hdr.len) ;
    if (r == 2) strerr_dief(KETCH_EX_PERM, "header section longer than 1 MiB") ;
    if (!r) { *end = 1 ; return hdr.len ; }
    line = hdr.s + start ; n = hdr.len - start ;
    cl = content_len(line, n) ;
    if (dots && cl == 1 && line[0] == '.') { hdr.len = start ; *end = 1 ; return hdr.len ; }
    /* an mbox "From " separator on the first line is not part of the message */
    if (!start && !fromline && n >= 5 && !memcmp(line, "From ", 5)) { hdr.len = 0 ; fromline = 1 ; continue ; }
    if (!cl) { hdr.len = start ; return hdr.len ; }
    if ((line[0] == ' ' || line[0] == '\t') && genalloc_len(field, &fields))
    {
      genalloc_s(field, &fields)[genalloc_len(field, &fields) - 1].len += n ;
      continue ;
    }
    namelen = field_name_len(line, cl) ;
    if (!namelen) return start ;   /* no header, or no blank line before the body */
    {
      field f = { .start = start, .len = n, .namelen = namelen } ;
      if (!genalloc_append(field, &fields, &f)) dienomem() ;
    }
  }
}

/*
 * -t: recipients from To, Cc and Bcc; or from Resent-To, Resent-Cc and
 * Resent-Bcc when the message is being resent (RFC 5322 §3.6.6).
 */
static void header_rcpts (stralloc *rcpts, size_t *nrcpt)
{
  static char const *const normal[] = { "To", "Cc", "Bcc", 0 } ;
  static char const *const resent[] = { "Resent-To", "Resent-Cc", "Resent-Bcc", 0 } ;
  char const *const *names = has_field("Resent-To") || has_field("Resent-Cc") || has_field("Resent-Bcc") ? resent : normal ;
  size_t n = genalloc_len(field, &fields), i = 0 ;
  for (; i < n ; i++)
  {
    field const *f = genalloc_s(field, &fields) + i ;
    char const *const *name = names ;
    for (; *name ; name++) if (field_is(f, *name)) break ;
    if (!*name) continue ;
    {
      char const *v = (char const *)memchr(hdr.s + f->start, ':', f->len) + 1 ;
      size_t vlen = f->len - (size_t)(v - (hdr.s + f->start)) ;
      if (!addrlist_parse(rcpts, nrcpt, RCPT_MAX, v, vlen, c.sa.s + c.hostname))
      {
        stralloc q = STRALLOC_ZERO ;
        if (errno == ERANGE) strerr_dief(KETCH_EX_PERM, "more than 10000 recipients") ;
        if (errno != EINVAL) dienomem() ;
        if (!string_quote(&q, v, vlen > 200 ? 200 : vlen) || !stralloc_0(&q)) dienomem() ;
        strerr_dief(KETCH_EX_PERM, "invalid address in the ", *name, " field: ", q.s) ;
      }
    }
  }
}

/* a display name as a quoted-string (RFC 5322 §3.2.4), control octets dropped */
static void put_phrase (stralloc *sa, char const *s)
{
  size_t i = 0 ;
  if (!stralloc_catb(sa, "\"", 1)) dienomem() ;
  for (; s[i] && i < NAME_MAX_ ; i++)
  {
    unsigned char ch = s[i] ;
    if (ch < 32 || ch == 127) continue ;
    if ((ch == '"' || ch == '\\') && !stralloc_catb(sa, "\\", 1)) dienomem() ;
    if (!stralloc_catb(sa, s + i, 1)) dienomem() ;
  }
  if (!stralloc_catb(sa, "\"", 1)) dienomem() ;
}

/* RFC 5322 §3.3 date-time, local time; the C locale (never changed here) gives English names */
static size_t fmt_date (char *buf, size_t max)
{
  struct tm tm ;
  time_t now = time(0) ;
  size_t n ;
  if (!localtime_r(&now, &tm)) strerr_diefusys(KETCH_EX_TEMP, "get the local time") ;
  n = strftime(buf, max, "%a, %d %b %Y %H:%M:%S %z", &tm) ;
  if (!n) strerr_dief(KETCH_EX_BUG, "strftime") ;
  return n ;
}

/*
 * The trace field of a local submission (RFC 5321 §4.4, RFC 5322
 * §3.6.7), first in the message as Postfix's is: no "from" clause (no
 * network peer), the submitting uid, the queue id that enqueue said
 * before it read the message, so nothing is written twice.
 */
static void put_received (char const *id)
{
  stralloc sa = STRALLOC_ZERO ;
  char fmt[UINT_FMT] ;
  char date[64] ;
  fmt[uint_fmt(fmt, getuid())] = 0 ;
  if (!stralloc_cats(&sa, "Received: by ") || !stralloc_cats(&sa, c.sa.s + c.hostname)
   || !stralloc_cats(&sa, " (ketch, from userid ") || !stralloc_cats(&sa, fmt) || !stralloc_catb(&sa, ")", 1)) dienomem() ;
  putline(sa.s, sa.len) ;
  sa.len = 0 ;
  if (!stralloc_cats(&sa, "\tid ") || !stralloc_cats(&sa, id) || !stralloc_catb(&sa, "; ", 2)
   || !stralloc_catb(&sa, date, fmt_date(date, sizeof(date)))) dienomem() ;
  putline(sa.s, sa.len) ;
  stralloc_free(&sa) ;
}

static void put_added (char const *fromaddr, char const *fullname)
{
  stralloc sa = STRALLOC_ZERO ;
  if (!has_field("From"))
  {
    if (!stralloc_cats(&sa, "From: ")) dienomem() ;
    if (fullname && *fullname)
    {
      put_phrase(&sa, fullname) ;
      if (!stralloc_cats(&sa, " <") || !stralloc_cats(&sa, fromaddr) || !stralloc_cats(&sa, ">")) dienomem() ;
    }
    else if (!stralloc_cats(&sa, fromaddr)) dienomem() ;
    putline(sa.s, sa.len) ;
  }
  if (!has_field("Date"))
  {
    char buf[70] = "Date: " ;
    putline(buf, 6 + fmt_date(buf + 6, sizeof(buf) - 6)) ;
  }
  if (!has_field("Message-ID"))
  {
    /* unique: a queue id (time, pid, random) and 32 more random bits, at our name */
    static char const hex[] = "0123456789abcdef" ;
    char id[QUEUE_ID_LEN + 1] ;
    char rnd[4] ;
    char x[9] ;
    unsigned int i = 0 ;
    queue_id_make(id) ;
    random_buf(rnd, sizeof(rnd)) ;
    for (; i < 4 ; i++) { x[2*i] = hex[(unsigned char)rnd[i] >> 4] ; x[2*i+1] = hex[rnd[i] & 15] ; }
    x[8] = 0 ;
    sa.len = 0 ;
    if (!stralloc_cats(&sa, "Message-ID: <") || !stralloc_cats(&sa, id) || !stralloc_catb(&sa, ".", 1)
     || !stralloc_cats(&sa, x) || !stralloc_catb(&sa, "@", 1) || !stralloc_cats(&sa, c.sa.s + c.hostname)
     || !stralloc_catb(&sa, ">", 1)) dienomem() ;
    putline(sa.s, sa.len) ;
  }
  stralloc_free(&sa) ;
}

/* every field but Bcc and Resent-Bcc (never transmitted, RFC 5322 §3.6.3), line by line */
static void put_fields (void)
{
  size_t n = genalloc_len(field, &fields), i = 0 ;
  for (; i < n ; i++)
  {
    field const *f = genalloc_s(field, &fields) + i ;
    size_t pos = f->start, end = f->start + f->len ;
    if (field_is(f, "Bcc") || field_is(f, "Resent-Bcc")) continue ;
    while (pos < end)
    {
      char const *nl = memchr(hdr.s + pos, '\n', end - pos) ;
      size_t len = nl ? (size_t)(nl - (hdr.s + pos)) + 1 : end - pos ;
      put_header_line(hdr.s + pos, content_len(hdr.s + pos, len)) ;
      pos += len ;
    }
  }
}

/*
 * The body, after whatever read_header kept of it; returns at EOF or a
 * lone dot. A line is held up to 1001 octets: without its LF by then,
 * it is longer than 998 whatever ends it, and its first piece goes.
 */
static void put_body (size_t bodystart, int dots, int end)
{
  stralloc line = STRALLOC_ZERO ;
  size_t pos = bodystart ;
  int ins = 0 ;   /* line holds the rest of a broken line */
  while (pos < hdr.len)
  {
    char const *nl = memchr(hdr.s + pos, '\n', hdr.len - pos) ;
    size_t len = nl ? (size_t)(nl - (hdr.s + pos)) + 1 : hdr.len - pos ;
    put_body_line(hdr.s + pos, content_len(hdr.s + pos, len), 0) ;
    pos += len ;
  }
  if (end) return ;
  for (;;)
  {
    size_t cl ;
    int r = readline(&line, LINE_MAX_ + 1 - line.len) ;
    if (!r && !line.len) break ;
    if (r == 2)
    {
      size_t k = cut_at(line.s, LINE_MAX_ - 2 - ins) ;
      putpiece(line.s, k, ins) ;
      memmove(line.s, line.s + k, line.len - k) ;
      line.len -= k ;
      ins = 1 ;
      continue ;
    }
    cl = content_len(line.s, line.len) ;
    /* sendmail's rule without -i: a line holding one dot ends the message */
    if (dots && !ins && cl == 1 && line.s[0] == '.') break ;
    put_body_line(line.s, cl, ins) ;
    line.len = 0 ;
    ins = 0 ;
  }
  stralloc_free(&line) ;
}

/*
 * local-filter (ketch.conf(5), Postfix's non_smtpd_milters): the filters
 * see the message as a session from "localhost" would show it (connect
 * family 'L', HELO localhost, MAIL, each RCPT, DATA, the message), before
 * it is queued, and may change it and its envelope (lib/filter). A
 * refusal anywhere refuses the whole message: there is no one to tell
 * about a single recipient. fs->msg holds the message on return.
 */
static void local_filter (filterset *fs, stralloc *sender, stralloc *rcpts, int verbose)
{
  static tain limit ;
  static char id[QUEUE_ID_LEN + 1] ;
  unsigned int n = 0 ;
  size_t k = 0 ;
  int v ;
  queue_id_make(id) ;
  tain_now_g() ;
  tain_addsec_g(&limit, c.timeout_session) ;
  if (!filterset_init(fs, &c, genalloc_s(size_t, &c.local_filters), genalloc_len(size_t, &c.local_filters), verbose ? 2 : -1, id, &limit)
   || !filter_client(fs, 0, 0, 0)) dienomem() ;
  /* the message out holds, in stored form, becomes the filters' */
  fs->msg = out ; out = (stralloc)STRALLOC_ZERO ;
  /* as Postfix's non_smtpd_milters: localhost [127.0.0.1], which a
     signer such as OpenDKIM counts among its internal hosts ('L', a
     local socket's family, it does not) */
  fs->mac[FILTER_MAC_CLIENT_ADDR] = "127.0.0.1" ;
  v = filter_connect(fs, "localhost", '4', 0, "127.0.0.1") ;
  if (!v) v = filter_helo(fs, "localhost", 0, 0) ;
  if (!v) v = filter_mail(fs, sender->s, "", 0, 0) ;
  for (; !v && k < rcpts->len ; k += strlen(rcpts->s + k) + 1, n++) v = filter_rcpt(fs, rcpts->s + k, "", 0) ;
  if (!v) v = filter_data(fs) ;
  if (!v) v = filter_eom(fs, sender, rcpts, &n, 1) ;
  switch (v)
  {
    case MILTER_CONTINUE : return ;
    case MILTER_DISCARD :
      if (verbose) strerr_warni(id, " discarded by a filter") ;
      filterset_close(fs) ;
      _exit(0) ;
    case MILTER_REJECT : strerr_dief(KETCH_EX_PERM, "refused by a filter: ", fs->reply.s) ;
    default : strerr_dief(KETCH_EX_TEMP, "deferred by a filter: ", fs->reply.s) ;
  }
}

/* ---- addresses ---- */

static void add_rcpts (stralloc *rcpts, size_t *nrcpt, char const *arg)
{
  if (!addrlist_parse(rcpts, nrcpt, RCPT_MAX, arg, strlen(arg), c.sa.s + c.hostname))
  {
    stralloc q = STRALLOC_ZERO ;
    if (errno == ERANGE) strerr_dief(KETCH_EX_PERM, "more than 10000 recipients") ;
    if (errno != EINVAL) dienomem() ;
    if (!string_quote(&q, arg, strlen(arg)) || !stralloc_0(&q)) dienomem() ;
    strerr_dief(KETCH_EX_PERM, "invalid recipient: ", q.s) ;
  }
}

/* -f: canonical; "" or "<>" is the null sender; a bare user is qualified */
static void parse_sender (address *a, char const *s)
{
  stralloc sa = STRALLOC_ZERO ;
  size_t len = strlen(s) ;
  int r ;
  if (len >= 2 && s[0] == '<' && s[len-1] == '>') { s++ ; len -= 2 ; }
  if (!stralloc_catb(&sa, s, len)) dienomem() ;
  if (len && !memchr(s, '@', len) && (!stralloc_catb(&sa, "@", 1) || !stralloc_cats(&sa, c.sa.s + c.hostname))) dienomem() ;
  r = address_parse(a, sa.s, sa.len, ADDRESS_NULL_OK | ADDRESS_UTF8) ;
  if (r)
  {
    stralloc q = STRALLOC_ZERO ;
    if (!string_quote(&q, s, len) || !stralloc_0(&q)) dienomem() ;
    strerr_dief(KETCH_EX_PERM, "invalid sender ", q.s, ": ", address_strerror(r)) ;
  }
  stralloc_free(&sa) ;
}

static char const *base (char const *s)
{
  char const *slash = strrchr(s, '/') ;
  return slash ? slash + 1 : s ;
}

int main (int argc, char const *const *argv)
{
  stralloc err = STRALLOC_ZERO ;
  stralloc rcpts = STRALLOC_ZERO ;
  size_t nrcpt = 0 ;
  char const *sender = 0, *fullname = 0, *user = 0 ;
  char const *name = base(argv[0]) ;
  enum mode_e mode = MODE_SEND ;
  int tflag = 0, iflag = 0, verbose = 0 ;
  int i = 1 ;
  PROG = "sendmail" ;
  {
    /* cron and friends may close stdio: a pipe must never land on fd 0, 1 or 2 */
    int fd = 0 ;
    for (; fd < 3 ; fd++)
      if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0) strerr_diefusys(KETCH_EX_TEMP, "open /dev/null") ;
  }
  if (!strcmp(name, "mailq")) { PROG = "mailq" ; mode = MODE_LIST ; }
  else if (!strcmp(name, "newaliases")) { PROG = "newaliases" ; mode = MODE_ALIASES ; }

  /* sendmail's options are not getopt's: -oi, -bp, -Ox=y, clustered -ti */
  for (; i < argc ; i++)
  {
    char const *a = argv[i] ;
    size_t j = 1 ;
    if (a[0] != '-' || !a[1]) break ;
    if (!strcmp(a, "--")) { i++ ; break ; }
    for (; a[j] ; j++)
    {
      char ch = a[j] ;
      if (strchr("tivnmUGs", ch))
      {
        if (ch == 't') tflag = 1 ;
        else if (ch == 'i') iflag = 1 ;
        else if (ch == 'v') verbose = 1 ;
        continue ;
      }
      if (strchr("frFCNRVXhBLpOA", ch))
      {
        /* an option with a value, attached or in the next argument */
        char const *v = a[j+1] ? a + j + 1 : argv[++i] ;
        if (!v) dieusage() ;
        if (ch == 'f' || ch == 'r') sender = v ;
        else if (ch == 'F') fullname = v ;
        else if (ch == 'C') conffile = v ;
        break ;
      }
      switch (ch)
      {
        case 'o' :
          /* -oi is -i; the others (-oem, -odb, -oQ...) have no meaning here */
          if (a[j+1] == 'i' && !a[j+2]) iflag = 1 ;
          break ;
        case 'b' :
          switch (a[j+1])
          {
            case 'm' : mode = MODE_SEND ; break ;
            case 'p' : mode = MODE_LIST ; break ;
            case 's' : mode = MODE_SMTP ; break ;
            case 'i' : mode = MODE_ALIASES ; break ;
            case 'd' : case 'D' : strerr_dief(KETCH_EX_PERM, "daemon mode is not supported: run smtp-listen and scheduler") ;
            default : strerr_dief(KETCH_EX_PERM, "unsupported mode: ", a) ;
          }
          break ;
        case 'q' : mode = MODE_RUNQ ; break ;
        case 'e' : case 'd' : break ;
        default : dieusage() ;
      }
      break ;
    }
  }
  argv += i ; argc -= i ;

  conffile = conf_path(conffile) ;
  if (!conf_load(&c, conffile, &err))
    strerr_dief(errno == EINVAL ? KETCH_EX_PERM : KETCH_EX_TEMP, err.len ? err.s : "unable to load the configuration") ;
  {
    struct passwd *pw = getpwuid(getuid()) ;
    if (pw)
    {
      user = pw->pw_name ;
      if (!fullname && pw->pw_gecos && *pw->pw_gecos)
      {
        /* the first GECOS field is the full name */
        char *comma = strchr(pw->pw_gecos, ',') ;
        if (comma) *comma = 0 ;
        fullname = pw->pw_gecos ;
      }
    }
    else
    {
      user = getenv("LOGNAME") ;
      if (!user || !*user) user = getenv("USER") ;
      if (!user || !*user) strerr_dief(KETCH_EX_PERM, "unable to find the name of uid ", "the invoking user") ;
    }
  }

  switch (mode)
  {
    case MODE_LIST : run("queue-ls", argv) ;
    case MODE_ALIASES :
    {
      /* installed as a link to sendmail, PROGRAMS/newaliases could be ourselves */
      if (getenv("KETCH_SENDMAIL_BI")) strerr_dief(KETCH_EX_TEMP, "no alias compiler in ", c.sa.s + c.bindir) ;
      if (setenv("KETCH_SENDMAIL_BI", "1", 1) < 0) dienomem() ;
      run("newaliases", 0) ;
    }
    case MODE_RUNQ :
    {
      static char const *const retry[] = { "retry", "all", 0 } ;
      run("queue-ctl", retry) ;
    }
    case MODE_SMTP :
    {
      /*
       * RFC 5321 on stdin and stdout, as sendmail -bs: smtp-session -L
       * user marks the local submission on its command line, and gets a
       * UCSPI environment that says "loopback" for its logs and Received
       * header; nothing of the caller's UCSPI environment is kept.
       */
      char const *bsargs[3] = { "-L", user, 0 } ;
      /*
       * Its log lines are not the caller's business: Postfix's sendmail
       * -bs logs where its daemons log (syslog), but ours log to their
       * supervisor's logger, which the caller cannot reach, so they are
       * dropped. What the client needs to know is in the SMTP replies;
       * a failure to exec still reaches the caller's stderr.
       */
      int null = open("/dev/null", O_WRONLY | O_CLOEXEC) ;
      errfd = fcntl(2, F_DUPFD_CLOEXEC, 3) ;
      if (null < 0 || errfd < 0 || fd_copy(2, null) < 0) strerr_diefusys(KETCH_EX_TEMP, "redirect the session's log to /dev/null") ;
      fd_close(null) ;
      if (setenv("PROTO", "TCP", 1) < 0 || setenv("TCPLOCALIP", "127.0.0.1", 1) < 0
       || setenv("TCPLOCALPORT", "0", 1) < 0 || setenv("TCPREMOTEIP", "127.0.0.1", 1) < 0
       || setenv("TCPREMOTEPORT", "0", 1) < 0 || unsetenv("TCPREMOTEINFO") < 0
       || setenv("TCPLOCALHOST", c.sa.s + c.hostname, 1) < 0 || unsetenv("TCPREMOTEHOST") < 0
       || unsetenv("RELAYCLIENT") < 0) dienomem() ;
      run("smtp-session", bsargs) ;
    }
    case MODE_SEND : break ;
  }

  {
    address from = ADDRESS_ZERO, me = ADDRESS_ZERO ;
    stralloc sa = STRALLOC_ZERO ;
    enqclient eq = ENQCLIENT_ZERO ;
    filterset fs = FILTERSET_ZERO ;
    stralloc fsender = STRALLOC_ZERO ;
    int filtering = genalloc_len(size_t, &c.local_filters) > 0 ;
    size_t bodystart, k ;
    int end = 0, e ;
    tain d ;

    if (!stralloc_cats(&sa, user) || !stralloc_catb(&sa, "@", 1) || !stralloc_cats(&sa, c.sa.s + c.hostname)) dienomem() ;
    if (address_parse(&me, sa.s, sa.len, ADDRESS_UTF8)) strerr_dief(KETCH_EX_PERM, "the invoking user's name is not a valid local part: ", user) ;
    if (sender) parse_sender(&from, sender) ; else from = me ;

    for (; *argv ; argv++) add_rcpts(&rcpts, &nrcpt, *argv) ;
    bodystart = read_header(!iflag, &end) ;
    if (tflag) header_rcpts(&rcpts, &nrcpt) ;
    if (!nrcpt) strerr_dief(KETCH_EX_PERM, "no recipient") ;

    {
      /* each recipient once, as sendmail does (To and Cc often overlap) */
      stralloc once = STRALLOC_ZERO, diag = STRALLOC_ZERO ;
      enqclient_req r = { .conffile = conffile, .sender = from.s, .auth = 0, .flags = ENQCLIENT_F_LOCAL, .deadline = &d } ;
      for (k = 0 ; k < rcpts.len ; k += strlen(rcpts.s + k) + 1)
      {
        size_t j = 0 ;
        for (; j < once.len ; j += strlen(once.s + j) + 1) if (!strcmp(once.s + j, rcpts.s + k)) break ;
        if (j < once.len) continue ;
        if (!stralloc_catb(&once, rcpts.s + k, strlen(rcpts.s + k) + 1)) dienomem() ;
      }
      if (filtering)
      {
        holding = 1 ;
        put_fields() ;
        put_added(from.len ? from.s : me.s, fullname) ;
        put("\n", 1) ;
        put_body(bodystart, !iflag, end) ;
        holding = 0 ;
        if (!stralloc_copyb(&fsender, from.s, from.len) || !stralloc_0(&fsender)) dienomem() ;
        local_filter(&fs, &fsender, &once, verbose) ;
        r.sender = fsender.s ;
        if (fs.hold) { r.flags |= ENQCLIENT_F_HOLD ; r.reason = fs.reason.s ; }
      }
      r.rcpts = once.s ; r.rlen = once.len ;
      signal(SIGPIPE, SIG_IGN) ;
      tain_now_g() ;
      tain_addsec_g(&d, c.timeout_command) ;
      e = enqclient_submit(&eq, &c, &r, &diag) ;
      if (e < 0) strerr_diefusys(KETCH_EX_TEMP, "start enqueue") ;
      if (e)
      {
        /* the envelope is refused: enqueue said why (here through diag, or on our stderr) */
        if (diag.len) allwrite(2, diag.s, diag.len) ;
        drain_input() ;
        return e ;
      }
      stralloc_free(&once) ;
    }
    outfd = eq.fd ;

    put_received(eq.id) ;
    if (filtering)
    {
      flush() ;
      if (!broken && !msgedit_write_stuffed(outfd, fs.msg.s, fs.msg.len))
      {
        if (errno != EPIPE) strerr_diefusys(KETCH_EX_TEMP, "write to enqueue") ;
        broken = 1 ;
      }
      filterset_close(&fs) ;
    }
    else
    {
      put_fields() ;
      put_added(from.len ? from.s : me.s, fullname) ;
      put("\n", 1) ;
      put_body(bodystart, !iflag, end) ;
      put(".\n", 2) ;
    }
    flush() ;
    if (broken) drain_input() ;
    {
      stralloc diag = STRALLOC_ZERO ;
      e = enqclient_finish(&eq, &diag) ;
      if (diag.len) allwrite(2, diag.s, diag.len) ;
      if (e) return e ;
    }
    if (verbose) strerr_warni(eq.id, " queued from=<", from.s, ">") ;
  }
  return 0 ;
}
