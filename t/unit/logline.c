/* ISC license: see LICENSE. */

/* Unit test of lib/logline: lines of lib/log and strerr read back, as JSON and as a level. */

#include <string.h>

#include <skalibs/stralloc.h>

#include "log.h"
#include "logline.h"
#include "tap.h"

static stralloc out = STRALLOC_ZERO ;

/* the JSON of s (len octets), with the time and program of every case here, as a C string without its newline */
static char const *json (char const *s, size_t len)
{
  out.len = 0 ;
  if (!logline_json(&out, s, len, "T", "smtp-listen")) return "(no memory)" ;
  if (!out.len || out.s[out.len - 1] != '\n') return "(no newline)" ;
  out.s[out.len - 1] = 0 ;
  return out.s ;
}
#define J(s) json(s, sizeof(s) - 1)
#define HEAD "{\"time\":\"T\",\"program\":\"smtp-listen\",\"level\":"

static char const *jstring (char const *s, size_t len)
{
  out.len = 0 ;
  if (!logline_json_string(&out, s, len) || !stralloc_0(&out)) return "(no memory)" ;
  return out.s ;
}
#define S(s) jstring(s, sizeof(s) - 1)

static unsigned int level (char const *s) { return logline_level(s, strlen(s)) ; }

int main (void)
{
  stralloc line = STRALLOC_ZERO ;
  char const *r ;
  tap_plan(19) ;

  r = J("0123 delivery rcpt=\"a@b\" result=ok attempt=1") ;
  ok(!strcmp(r, HEAD "\"info\",\"id\":\"0123\",\"event\":\"delivery\",\"fields\":{\"rcpt\":\"a@b\",\"result\":\"ok\",\"attempt\":\"1\"}}"), "an event: id, event, fields nested, values strings (%s)", r) ;
  r = J("0123 accepted id=4567 size=10") ;
  ok(!strcmp(r, HEAD "\"info\",\"id\":\"0123\",\"event\":\"accepted\",\"fields\":{\"id\":\"4567\",\"size\":\"10\"}}"), "a field named id stays the event's (%s)", r) ;
  r = J("scheduler held") ;
  ok(!strcmp(r, HEAD "\"info\",\"id\":\"scheduler\",\"event\":\"held\",\"fields\":{}}"), "an event without fields (%s)", r) ;
  r = J("") ;
  ok(!strcmp(r, HEAD "\"info\",\"id\":\"\",\"event\":\"\",\"fields\":{}}"), "an empty line (%s)", r) ;
  r = J("x e flag  k= v=\"a b\"") ;
  ok(!strcmp(r, HEAD "\"info\",\"id\":\"x\",\"event\":\"e\",\"fields\":{\"flag\":true,\"k\":\"\",\"v\":\"a b\"}}"), "a word without '=' is true; an empty value; a quoted one with a space (%s)", r) ;
  r = J("x e a=\"open b=1") ;
  ok(!strcmp(r, HEAD "\"info\",\"id\":\"x\",\"event\":\"e\",\"fields\":{\"a\":\"\\\"open b=1\"}}"), "an unterminated quote: the rest of the line, as it is (%s)", r) ;

  /* what lib/log writes for a hostile value comes back as the same octets */
  {
    char const hostile[] = "q\"b\\s\x01\x1f\t\r\n\x7f\xc3\xa9" ;
    char const *v[] = { "helo", "name=", log_quote(hostile), 0 } ;
    line.len = 0 ;
    ok(log_line(&line, "sid", v), "log_line") ;
    r = json(line.s, line.len - 1) ;
    ok(!strcmp(r, HEAD "\"info\",\"id\":\"sid\",\"event\":\"helo\",\"fields\":{\"name\":\"q\\\"b\\\\s\\u0001\\u001f\\t\\r\\n\x7f\xc3\xa9\"}}"),
       "quotes, backslashes, control octets and UTF-8 from log_quote decoded, then escaped per RFC 8259 (%s)", r) ;
  }
  r = J("x e a=\"\\q\\0xzz\\") ;
  ok(!strcmp(r, HEAD "\"info\",\"id\":\"x\",\"event\":\"e\",\"fields\":{\"a\":\"\\\"\\\\q\\\\0xzz\\\\\"}}"), "an unterminated value with bad escapes, as it is (%s)", r) ;
  r = J("x e a=\"\\q\\0xz\" b=\"\\0x41\\\\\"") ;
  ok(!strcmp(r, HEAD "\"info\",\"id\":\"x\",\"event\":\"e\",\"fields\":{\"a\":\"q0xz\",\"b\":\"A\\\\\"}}"), "escapes read as string_unquote reads them (%s)", r) ;

  /* UTF-8 (RFC 8259 section 8.1) */
  r = S("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") ;
  ok(!strcmp(r, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""), "UTF-8 of 2, 3 and 4 octets kept (%s)", r) ;
  r = S("a\xff" "b\xc3") ;
  ok(!strcmp(r, "\"a\\ufffdb\\ufffd\""), "an octet that begins nothing, a sequence cut at the end: U+FFFD (%s)", r) ;
  r = S("\xe0\x80\x80\xed\xa0\x80\xf4\x90\x80\x80\xc0\xaf") ;
  ok(!strcmp(r, "\"" "\\ufffd\\ufffd\\ufffd" "\\ufffd\\ufffd\\ufffd" "\\ufffd\\ufffd\\ufffd\\ufffd" "\\ufffd\\ufffd" "\""),
     "overlong forms, a surrogate, beyond U+10FFFF refused octet by octet (%s)", r) ;
  r = S("\xe2\x82" "A") ;
  ok(!strcmp(r, "\"\\ufffdA\""), "a sequence broken by ASCII: one U+FFFD, the ASCII kept (%s)", r) ;
  r = jstring("a\0b", 3) ;
  ok(!strcmp(r, "\"a\\u0000b\""), "NUL escaped (%s)", r) ;

  /* diagnostics */
  r = J("smtp-listen: warning: unable to reload: bad \"conf\"") ;
  ok(!strcmp(r, HEAD "\"warning\",\"id\":null,\"event\":\"warning\",\"fields\":{\"source\":\"smtp-listen\",\"text\":\"unable to reload: bad \\\"conf\\\"\"}}"), "a strerr warning (%s)", r) ;
  r = J("remote-send: something odd") ;
  ok(!strcmp(r, HEAD "\"info\",\"id\":null,\"event\":\"info\",\"fields\":{\"source\":\"remote-send\",\"text\":\"something odd\"}}"), "prog: and no strerr word: info, the rest is the text (%s)", r) ;

  ok(level("scheduler: fatal: unable to open spool") == LOGLINE_FATAL && level("x: info: started") == LOGLINE_INFO
     && level("x: warning: y") == LOGLINE_WARNING, "levels of diagnostics") ;
  ok(level("sid warning event=spawn prog=enqueue") == LOGLINE_WARNING && level("id attempt rcpt=\"a\" result=error error=fork") == LOGLINE_ERROR
     && level("id delivery rcpt=\"result=error\" result=ok") == LOGLINE_INFO && level("id delivery text=\"x\" result=ok") == LOGLINE_INFO && level("") == LOGLINE_INFO,
     "levels of events: warning, result=error (not inside a quoted value), else info") ;
  stralloc_free(&line) ;
  stralloc_free(&out) ;
  return tap_done() ;
}
