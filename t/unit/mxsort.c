/* ISC license: see LICENSE. */

#include <string.h>

#include "tap.h"
#include "dns.h"

static int ascending (dns_mx const *mx, size_t n)
{
  size_t i = 1 ;
  for (; i < n ; i++) if (mx[i-1].pref > mx[i].pref) return 0 ;
  return 1 ;
}

int main (void)
{
  static char const names[] = "\0a\0b\0c\0d\0e" ;
  dns_mx base[5] = { { 20, 1 }, { 10, 3 }, { 30, 5 }, { 10, 7 }, { 20, 9 } } ;
  dns_mx mx[5] ;
  unsigned int seen10[2] = { 0, 0 }, i ;
  int allok = 1, setok = 1 ;
  tap_plan(8) ;

  for (i = 0 ; i < 400 ; i++)
  {
    size_t sum = 0, k ;
    memcpy(mx, base, sizeof(mx)) ;
    dns_mx_sort(mx, 5) ;
    if (!ascending(mx, 5)) allok = 0 ;
    for (k = 0 ; k < 5 ; k++) sum += mx[k].name ;
    if (sum != 1 + 3 + 5 + 7 + 9 || mx[4].name != 5) setok = 0 ;
    seen10[mx[0].name == 3 ? 0 : 1]++ ;
  }
  ok(allok, "every shuffle is in ascending preference order") ;
  ok(setok, "the records are kept, the single highest preference is last") ;
  ok(seen10[0] > 100 && seen10[1] > 100, "equal preferences come first in both orders (%u/%u)", seen10[0], seen10[1]) ;

  memcpy(mx, base, sizeof(mx)) ;
  dns_mx_sort(mx, 1) ;
  ok(mx[0].pref == 20 && mx[0].name == 1, "one record stays") ;
  dns_mx_sort(mx, 0) ;
  ok(1, "zero records do not crash") ;

  {
    dns_mx nul[1] = { { 0, 0 } } ;
    dns_mx two[2] = { { 0, 0 }, { 10, 1 } } ;
    ok(dns_mx_isnull(nul, 1, names), "MX 0 . alone is a null MX") ;
    ok(!dns_mx_isnull(two, 2, names), "a root exchanger beside others is not a null MX") ;
    ok(!dns_mx_isnull(base, 1, names), "an ordinary MX is not a null MX") ;
  }
  return tap_done() ;
}
