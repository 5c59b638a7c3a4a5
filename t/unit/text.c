/* ISC license: see LICENSE. */

/* lib/text: report text made printable, in place and appended */

#include <string.h>

#include <skalibs/stralloc.h>

#include "text.h"
#include "tap.h"

int main (void)
{
  stralloc sa = STRALLOC_ZERO ;
  char buf[] = "550 5.1.1 no\r\nsuch\tuser\033[2J\177." ;
  char all[256] ;
  unsigned int i, bad = 0 ;
  tap_plan(6) ;

  text_printable(buf, sizeof(buf) - 1) ;
  ok(!strcmp(buf, "550 5.1.1 no  such user [2J ."), "CR, LF, TAB, ESC and DEL become spaces, the length kept") ;
  for (i = 0 ; i < 256 ; i++) all[i] = (char)i ;
  text_printable(all, 256) ;
  for (i = 0 ; i < 256 ; i++) if ((i < 32 || i == 127) ? all[i] != ' ' : (unsigned char)all[i] != i) bad++ ;
  ok(!bad, "every octet: controls and DEL blanked, the rest (UTF-8 above 127 included) kept") ;
  text_printable(buf, 0) ;
  ok(buf[0] == '5', "length 0: nothing touched") ;

  ok(stralloc_catb(&sa, "7 0 ", 4) && text_printable_cat(&sa, "a\nb\0c", 5) && sa.len == 9 && !memcmp(sa.s, "7 0 a b c", 9), "appended: what was there kept, the new text blanked, a NUL too") ;
  ok(text_printable_cat(&sa, "", 0) && sa.len == 9, "appending nothing") ;
  ok(text_printable_cat(&sa, "\303\251t\303\251", 5) && sa.len == 14 && !memcmp(sa.s + 9, "\303\251t\303\251", 5), "UTF-8 kept") ;
  stralloc_free(&sa) ;
  return tap_done() ;
}
