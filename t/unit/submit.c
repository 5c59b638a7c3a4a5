/* ISC license: see LICENSE. */

/* lib/submit in a scratch spool: refusals with their words, a commit,
   an abort and a refused body that leave nothing in tmp/, and one
   structure reused for several messages, as enqueue-listen's workers do;
   who may set the authenticated user */

#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>
#include <pwd.h>
#include <sys/stat.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>

#include "exitcodes.h"
#include "submit.h"
#include "tap.h"

static unsigned int count (char const *dir)
{
  unsigned int n = 0 ;
  DIR *d = opendir(dir) ;
  struct dirent *de ;
  if (!d) return 0 ;
  while ((de = readdir(d))) if (de->d_name[0] != '.') n++ ;
  closedir(d) ;
  return n ;
}

static int one (submit *s, char const *body, unsigned int options, uint64_t max, stralloc *err)
{
  int r = submit_sender(s, "a@b.example", 11, err) ;
  if (!r) r = submit_rcpt(s, "c@d.example", 11, err) ;
  if (!r) r = submit_open(s, max, options, err) ;
  if (!r) r = submit_feed(s, body, strlen(body), err) ;
  if (!r) r = submit_commit(s, err) ;
  return r ;
}

int main (void)
{
  char tmpl[] = "/tmp/ketch-unit-submit.XXXXXX" ;
  char path[64] ;
  submit s = SUBMIT_ZERO ;
  stralloc err = STRALLOC_ZERO, sa = STRALLOC_ZERO ;
  int r ;
  tap_plan(36) ;
  if (!mkdtemp(tmpl) || chdir(tmpl) < 0 || mkdir("tmp", 0700) < 0 || mkdir("queue", 0700) < 0) return 111 ;

  r = submit_sender(&s, "bad<", 4, &err) ;
  ok(r == KETCH_EX_PERM && !strcmp(err.s, "invalid sender \"bad<\": invalid local part"), "a bad sender: 100, enqueue's words (%s)", err.s) ;
  ok(!submit_sender(&s, "", 0, &err), "the null sender") ;
  r = submit_rcpt(&s, "", 0, &err) ;
  ok(r == KETCH_EX_PERM && !strncmp(err.s, "invalid recipient \"\":", 21), "an empty recipient: 100") ;
  r = submit_auth(&s, "two words", &err) ;
  ok(r == KETCH_EX_PERM && !strcmp(err.s, "invalid auth user"), "an auth user with a space: 100") ;
  r = submit_open(&s, 0, 0, &err) ;
  ok(r == KETCH_EX_PERM && !strcmp(err.s, "no recipient"), "no recipient: 100, nothing created") ;
  ok(count("tmp") == 0, "... tmp/ empty") ;
  submit_free(&s) ;

  r = one(&s, "Subject: x\r\n\r\nhello\r\n.\r\n", MESSAGE_DOTS, 0, &err) ;
  ok(!r && s.m.done && !s.left, "a dot-terminated message is committed, nothing after its dot") ;
  memcpy(path, "queue/", 6) ; memcpy(path + 6, s.id + QUEUE_ID_LEN - 2, 2) ; path[8] = '/' ;
  memcpy(path + 9, s.id, QUEUE_ID_LEN + 1) ;
  ok(openslurpclose(&sa, path) && sa.len > 7 && !memcmp(sa.s + sa.len - 7, "\nhello\n", 7) && stralloc_0(&sa), "... in queue/XX/ID") ;
  ok(strstr(sa.s, "to c@d.example\n") && strstr(sa.s, "Subject: x\n\nhello\n"), "... with its envelope and the body, LF line ends") ;
  ok(count("tmp") == 0 && s.fd < 0, "... nothing in tmp/, no descriptor kept") ;
  submit_free(&s) ;

  r = one(&s, "Subject: y\r\n\r\nhi\r\n.\r\nNEXT", MESSAGE_DOTS, 0, &err) ;
  ok(!r && s.m.done && s.left == 4, "octets after the final dot: not the message's, counted in left (enqueue-listen keeps no connection then)") ;
  submit_free(&s) ;

  r = one(&s, "Subject: x\r\n\r\nno end", MESSAGE_DOTS, 0, &err) ;
  ok(r == KETCH_EX_TEMP && !err.len, "a stream without its final dot: 111, no words (an abort)") ;
  ok(count("tmp") == 0, "... tmp/ empty") ;
  submit_free(&s) ;

  r = one(&s, "Subject: x\r\n\r\n0123456789012345678901234567890123456789\r\n.\r\n", MESSAGE_DOTS, 30, &err) ;
  ok(r == KETCH_EX_PERM && !strcmp(err.s, "message too big"), "over the size limit: 100, \"%s\"", err.s) ;
  ok(count("tmp") == 0, "... tmp/ empty") ;
  submit_free(&s) ;

  r = one(&s, "Subject: x\r\n\r\nbare\rcr\r\n.\r\n", MESSAGE_DOTS, 0, &err) ;
  ok(r == KETCH_EX_PERM && count("tmp") == 0, "a bare CR: 100, tmp/ empty") ;
  submit_free(&s) ;

  r = one(&s, "plain\nbody\n", 0, 0, &err) ;
  ok(!r, "the same structure takes another message (no dots: to the end)") ;
  submit_free(&s) ;
  {
    unsigned int n = 0, i = 0 ;
    for (; i < QUEUE_BUCKETS ; i++)
    {
      char b[9] ;
      queue_bucketdir(b, "queue", i) ;
      n += count(b) ;
    }
    ok(n == 3, "three messages in the queue in all") ;
  }
  {
    /* the smtp-user is nobody, found in /etc/passwd by submit itself */
    conf c, none ;
    struct passwd *pw = getpwnam("nobody") ;
    uid_t nobody = pw ? pw->pw_uid : 65534, other = nobody - 1 == geteuid() ? nobody - 2 : nobody - 1 ;
    stralloc e = STRALLOC_ZERO ;
    char const *a ;
    ok(openwritenclose_unsafe("c.conf", "hostname h.example\nsmtp-user nobody\n", 35) && conf_load(&c, "c.conf", &e)
     && openwritenclose_unsafe("n.conf", "hostname h.example\n", 19) && conf_load(&none, "n.conf", &e), "two configurations load") ;
    ok(!submit_sender(&s, "a@b.example", 11, &err) && !submit_auth_from(&s, "bob", &c, 0, &err) && (a = envelope_auth(&s.e)) && !strcmp(a, "bob"), "root may set the auth user") ;
    ok(!submit_auth_from(&s, "bob", &none, geteuid(), &err), "so may the queue owner (our effective uid)") ;
    ok(!submit_auth_from(&s, "bob", &c, nobody, &err), "so may the smtp-user") ;
    r = submit_auth_from(&s, "bob", &c, other, &err) ;
    ok(r == KETCH_EX_PERM && !strcmp(err.s, "only root, the queue owner and the smtp-user may set the authenticated user"), "anyone else: 100 (%s)", err.s) ;
    ok(submit_auth_from(&s, "bob", &none, nobody, &err) == KETCH_EX_PERM, "without an smtp-user line, nobody else") ;
    submit_free(&s) ;

    /* the flags: sign only from the trusted, hold from anyone */
    ok(!submit_sender(&s, "a@b.example", 11, &err) && !submit_flags(&s, SUBMIT_F_SIGN, 0, &c, nobody, &err) && s.flags == SUBMIT_F_SIGN && s.e.flags & ENVELOPE_F_SIGN, "the smtp-user may ask for signing") ;
    ok(!submit_flags(&s, SUBMIT_F_SIGN, 0, &none, 0, &err) && !submit_flags(&s, SUBMIT_F_SIGN, 0, &none, geteuid(), &err), "so may root and the queue owner") ;
    r = submit_flags(&s, SUBMIT_F_SIGN, 0, &c, other, &err) ;
    ok(r == KETCH_EX_PERM && !strcmp(err.s, "only root, the queue owner and the smtp-user may ask for signing"), "anyone else: 100 (%s)", err.s) ;
    submit_free(&s) ;
    ok(!s.flags, "submit_free clears the flags for the next message") ;
    {
      /* a local user's mail is signed, its forward (NOSIGN, which anyone may say) never */
      conf k ;
      ok(openwritenclose_unsafe("k.conf", "hostname h.example\ndkim-sign b.example selector s key /nonexistent\n", 67) && conf_load(&k, "k.conf", &e)
       && !submit_sender(&s, "a@b.example", 11, &err) && !submit_dkim(&s, &k, other, &err) && s.dkimconf == &k, "a local user's mail: to be signed") ;
      submit_free(&s) ;
      ok(!submit_sender(&s, "a@b.example", 11, &err) && !submit_flags(&s, SUBMIT_F_NOSIGN, 0, &k, other, &err) && s.flags == SUBMIT_F_NOSIGN
       && !submit_dkim(&s, &k, other, &err) && !s.dkimconf, "with NOSIGN, from anyone: never signed") ;
      submit_free(&s) ;
      conf_free(&k) ;
    }
    ok(!submit_sender(&s, "a@b.example", 11, &err) && !submit_flags(&s, SUBMIT_F_HOLD, "quarantined by rspamd", &c, other, &err) && s.flags == SUBMIT_F_HOLD && s.e.flags & ENVELOPE_F_HOLD && s.e.reason && !strcmp(s.e.sa.s + s.e.reason, "quarantined by rspamd"), "anyone may hold, with a reason") ;
    r = submit_flags(&s, SUBMIT_F_HOLD, "bad\nreason", &c, 0, &err) ;
    ok(r == KETCH_EX_PERM && !strncmp(err.s, "invalid hold reason", 19), "a reason with a newline: 100 (%s)", err.s) ;
    ok(submit_flags(&s, 0x10, 0, &c, 0, &err) == KETCH_EX_PERM && !strcmp(err.s, "unknown submission flags"), "an unknown flag: 100") ;
    ok(!submit_rcpt(&s, "c@d.example", 11, &err) && !submit_open(&s, 0, 0, &err) && !submit_feed(&s, "S: x\n\nb\n", 8, &err) && !submit_commit(&s, &err), "a held message is committed") ;
    memcpy(path, "queue/", 6) ; memcpy(path + 6, s.id + QUEUE_ID_LEN - 2, 2) ; path[8] = '/' ;
    memcpy(path + 9, s.id, QUEUE_ID_LEN + 1) ;
    sa.len = 0 ;
    ok(openslurpclose(&sa, path) && stralloc_0(&sa) && strstr(sa.s, "\nto c@d.example\nhold quarantined by rspamd\nbody 7bit\n\nS: x\n"), "... the hold and its reason in the committed entry") ;
    submit_free(&s) ;
    ok(!submit_sender(&s, "a@b.example", 11, &err) && !submit_flags(&s, SUBMIT_F_SIGN, "ignored", &c, 0, &err) && !(s.e.flags & ENVELOPE_F_HOLD) && !envelope_reason(&s.e), "a reason without the hold: dropped") ;
    submit_free(&s) ;
  }
  if (chdir("/") == 0) rm_rf(tmpl) ;
  return tap_done() ;
}
