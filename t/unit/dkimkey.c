/* ISC license: see LICENSE. */

#include <string.h>

#include <skalibs/stralloc.h>

#include "tap.h"
#include "base64.h"
#include "dkimkey.h"

/* keys made with openssl genrsa -traditional, pkcs8 -topk8, genpkey -algorithm ed25519, ecparam */
static char const rsa1024[] =
  "-----BEGIN RSA PRIVATE KEY-----\n"
  "MIICWwIBAAKBgQDQys+QIhVwfsNcfkZuJKjw1Ge9TaRUbsi3KmmWNfk+o5nYU2wI\n"
  "oTao3r4H7/6+iDClqOby+XX/5uh60bK0k7hNiIy0SDUr2qdyE2HPurmxfzVPWB7F\n"
  "AYHHCN7cyKM/egOFMy5hcbG3SI9e4jYFGDoWF4ph6aAfB1F9CIQr8vvwnQIDAQAB\n"
  "AoGAfWvXE3Xl+xWqtT0FgdRzx3dQed7SAAYsfBr2Ik15067jE5fJJcXx16815/66\n"
  "wCl/T4QOd5Zy064ZqO2es+qoopSvjK3ipvUrTjqHYhYXshzye3544OqrF0qWg5Mx\n"
  "IIQbIpIMXFYamaaSO1Xe18LCr+1GADoUxrdLJAtj/++5J+ECQQDthi7QiwMqUtfI\n"
  "dd7FHeGHudmv7CqwBec+663aQ7bEU+SADxR82zthPUbmTZTFfawd4gIg3hnKEz9I\n"
  "PPXeeFObAkEA4Qh9Q8BJ7pYGM0Rmi6DbbvJg/4Oa3hK5nq6UDPvIqaUuD8fCGAL2\n"
  "4DhvOWI8z5/ww6wi0F9htTGUA1WMNErcJwJAf+7tGjA1xT8XsIYkNeGRTwyAPqwi\n"
  "leqoEhDY9B3SvE4/XeZBb7qZcheSL4uL3Q+CfBn2cYOPOnNBe4QyHeCLjwJAOJgL\n"
  "+NgJP+mXEZmoOIFx7ksivd/5ONR4vkGllkZURuX12Z4hYCyOrgFDZ6kfJhBRWsSV\n"
  "1NXIGuunD9eZ9STGjQJAFzpamRP6vCRSrwSLDt/s14plSkG2YzanK9hBMUhdCDm/\n"
  "YorXpaXqE8DVYxm4y54pjlPeW21yd+BBZ7idusqg5A==\n"
  "-----END RSA PRIVATE KEY-----\n" ;

static char const rsa1024p8[] =
  "-----BEGIN PRIVATE KEY-----\n"
  "MIICdQIBADANBgkqhkiG9w0BAQEFAASCAl8wggJbAgEAAoGBANDKz5AiFXB+w1x+\n"
  "Rm4kqPDUZ71NpFRuyLcqaZY1+T6jmdhTbAihNqjevgfv/r6IMKWo5vL5df/m6HrR\n"
  "srSTuE2IjLRINSvap3ITYc+6ubF/NU9YHsUBgccI3tzIoz96A4UzLmFxsbdIj17i\n"
  "NgUYOhYXimHpoB8HUX0IhCvy+/CdAgMBAAECgYB9a9cTdeX7Faq1PQWB1HPHd1B5\n"
  "3tIABix8GvYiTXnTruMTl8klxfHXrzXn/rrAKX9PhA53lnLTrhmo7Z6z6qiilK+M\n"
  "reKm9StOOodiFheyHPJ7fnjg6qsXSpaDkzEghBsikgxcVhqZppI7Vd7XwsKv7UYA\n"
  "OhTGt0skC2P/77kn4QJBAO2GLtCLAypS18h13sUd4Ye52a/sKrAF5z7rrdpDtsRT\n"
  "5IAPFHzbO2E9RuZNlMV9rB3iAiDeGcoTP0g89d54U5sCQQDhCH1DwEnulgYzRGaL\n"
  "oNtu8mD/g5reErmerpQM+8ippS4Px8IYAvbgOG85YjzPn/DDrCLQX2G1MZQDVYw0\n"
  "StwnAkB/7u0aMDXFPxewhiQ14ZFPDIA+rCKV6qgSENj0HdK8Tj9d5kFvuplyF5Iv\n"
  "i4vdD4J8GfZxg486c0F7hDId4IuPAkA4mAv42Ak/6ZcRmag4gXHuSyK93/k41Hi+\n"
  "QaWWRlRG5fXZniFgLI6uAUNnqR8mEFFaxJXU1cga66cP15n1JMaNAkAXOlqZE/q8\n"
  "JFKvBIsO3+zXimVKQbZjNqcr2EExSF0IOb9iitelpeoTwNVjGbjLnimOU95bbXJ3\n"
  "4EFnuJ26yqDk\n"
  "-----END PRIVATE KEY-----\n" ;

static char const rsa512[] =
  "-----BEGIN RSA PRIVATE KEY-----\n"
  "MIIBPQIBAAJBANZuW5lPlHCJEmWtx16STYQUXtEnhxEPI/SpGgpn/EpZ4yYZRXe9\n"
  "Lb6jkP/Ba6D9FEHS2zRPhjKagsgyma5cWj8CAwEAAQJBALh8kEByEFNWC0cB4XMD\n"
  "Sr/lSsKGUJWjwhqgVrA3UP+hjAPhGwRYcaviVigC2G6S9aMKwdp2L2T51q1u8X24\n"
  "EdkCIQD9RGwTx7+bsir0lkZ2pzKAhCmomRP4WU/CQ2F6MmyzPQIhANi+qW9tg9/g\n"
  "JkdPBRmb3JCCGuq6r+N/zHxWUVbH6ysrAiEAspn1vV03egyCzkjLGBGAQ7Dvz71j\n"
  "n9cbr9rkes/kZ+ECIQCIV9ep2pBcYlpx/QlORLeIx+86vVkrmRb/GCVum7AZpQIh\n"
  "AOof5EpEf46biyEPYCWrQ0HvF82PzHBIyLSLec5DBXMZ\n"
  "-----END RSA PRIVATE KEY-----\n" ;

static char const ed[] =
  "-----BEGIN PRIVATE KEY-----\n"
  "MC4CAQAwBQYDK2VwBCIEIIfnBYICe1mBrfglN09sETqGQdpg4W1ufmx4uqUMXwB3\n"
  "-----END PRIVATE KEY-----\n" ;

static char const ec[] =
  "-----BEGIN EC PRIVATE KEY-----\n"
  "MHcCAQEEIBCNkazn1iIoqXMU6eEWb7USf9G2+zqnzBOYDLobn9bdoAoGCCqGSM49\n"
  "AwEHoUQDQgAEYwCl4QtkRBF60QOazobMBxmZX5uS2lQ3bZP5pLo+KsC/LJI3hih+\n"
  "SlSYuyaiMxuyJo9qYtCN9cqPSF5GmxIH0g==\n"
  "-----END EC PRIVATE KEY-----\n" ;

/* openssl rsa -pubout -outform DER | base64; openssl pkey -pubout -outform DER | tail -c 32 | base64 */
static char const rsa1024_pub[] = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDQys+QIhVwfsNcfkZuJKjw1Ge9TaRUbsi3KmmWNfk+o5nYU2wIoTao3r4H7/6+iDClqOby+XX/5uh60bK0k7hNiIy0SDUr2qdyE2HPurmxfzVPWB7FAYHHCN7cyKM/egOFMy5hcbG3SI9e4jYFGDoWF4ph6aAfB1F9CIQr8vvwnQIDAQAB" ;
static char const ed_pub[] = "SupTTLqrVtPSZmBuYZrWx7nDVao6s3nlZolluIWRcMA=" ;

static int txt_is (dkimkey const *k, char const *k_, char const *p)
{
  stralloc sa = STRALLOC_ZERO ;
  stralloc want = STRALLOC_ZERO ;
  int r = dkimkey_txt(k, &sa) && stralloc_cats(&want, "v=DKIM1; k=") && stralloc_cats(&want, k_)
    && stralloc_cats(&want, "; p=") && stralloc_cats(&want, p)
    && sa.len == want.len && !memcmp(sa.s, want.s, sa.len) ;
  if (!r) printf("# got %.*s\n", (int)sa.len, sa.s) ;
  stralloc_free(&sa) ; stralloc_free(&want) ;
  return r ;
}

int main (void)
{
  dkimkey k = DKIMKEY_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  tap_plan(22) ;

  ok(dkimkey_parse(&k, rsa1024, strlen(rsa1024)) == DKIMKEY_OK && k.type == DKIMKEY_RSA && k.bits == 1024, "PKCS#1 RSA key") ;
  ok(txt_is(&k, "rsa", rsa1024_pub), "p= is the SubjectPublicKeyInfo openssl prints") ;
  ok(dkimkey_siglen(&k) == 128, "a 1024-bit signature is 128 octets") ;
  ok(dkimkey_parse(&k, rsa1024p8, strlen(rsa1024p8)) == DKIMKEY_OK && k.type == DKIMKEY_RSA && txt_is(&k, "rsa", rsa1024_pub), "the same key in PKCS#8") ;
  ok(dkimkey_parse(&k, rsa1024p8, strlen(rsa1024p8) - 1) == DKIMKEY_OK, "no final newline") ;
  ok(dkimkey_parse(&k, rsa512, strlen(rsa512)) == DKIMKEY_ESMALL, "512 bits refused (RFC 8301)") ;
  ok(dkimkey_parse(&k, ed, strlen(ed)) == DKIMKEY_OK && k.type == DKIMKEY_ED25519 && dkimkey_siglen(&k) == 64, "Ed25519 PKCS#8 key") ;
  ok(txt_is(&k, "ed25519", ed_pub), "p= is the raw public key (RFC 8463 §4)") ;
  ok(dkimkey_parse(&k, ec, strlen(ec)) == DKIMKEY_ETYPE, "an EC key: wrong type") ;
  ok(dkimkey_parse(&k, "hello\n", 6) == DKIMKEY_EPEM, "not PEM") ;
  ok(dkimkey_parse(&k, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 56) == DKIMKEY_ENOKEY, "no key object") ;
  ok(dkimkey_parse(&k, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 56) == DKIMKEY_EDER, "a malformed key") ;
  ok(dkimkey_parse(&k, rsa1024, 200) == DKIMKEY_EPEM, "a truncated file") ;
  ok(dkimkey_load(&k, "/nonexistent/key") == DKIMKEY_ESYS, "an unreadable file: ESYS") ;

  {
    static char txt[600] ;
    memset(txt, 'a', sizeof(txt)) ;
    sa.len = 0 ;
    ok(dkimkey_zone("example.org", "s1", txt, sizeof(txt), &sa) && stralloc_0(&sa), "zone line") ;
    ok(!strncmp(sa.s, "s1._domainkey.example.org. IN TXT ( \"", 37) && strstr(sa.s, "\"\n    \"") && !strcmp(sa.s + sa.len - 4, " )\n"), "owner, class, type, parentheses") ;
    {
      /* 600 octets: strings of 255, 255 and 90 */
      char const *q = sa.s ;
      size_t lens[4] = { 0 } ;
      unsigned int i = 0 ;
      while (i < 4 && (q = strchr(q, '"')))
      {
        char const *e = strchr(q + 1, '"') ;
        if (!e) break ;
        lens[i++] = e - q - 1 ;
        q = e + 1 ;
      }
      ok(i == 3 && lens[0] == 255 && lens[1] == 255 && lens[2] == 90, "strings of at most 255 octets") ;
    }
  }

  ok(dkimkey_generate(&k, DKIMKEY_ED25519, 0) && k.type == DKIMKEY_ED25519, "generate Ed25519") ;
  sa.len = 0 ;
  {
    dkimkey k2 = DKIMKEY_ZERO ;
    stralloc a = STRALLOC_ZERO, b = STRALLOC_ZERO ;
    ok(dkimkey_pem(&k, &sa) && dkimkey_parse(&k2, sa.s, sa.len) == DKIMKEY_OK && dkimkey_txt(&k, &a) && dkimkey_txt(&k2, &b)
      && a.len == b.len && !memcmp(a.s, b.s, a.len), "Ed25519 PEM read back") ;
    ok(dkimkey_generate(&k, DKIMKEY_RSA, 1024) && k.type == DKIMKEY_RSA && k.bits == 1024, "generate RSA") ;
    sa.len = 0 ; a.len = 0 ; b.len = 0 ;
    ok(dkimkey_pem(&k, &sa) && dkimkey_parse(&k2, sa.s, sa.len) == DKIMKEY_OK && dkimkey_txt(&k, &a) && dkimkey_txt(&k2, &b)
      && a.len == b.len && !memcmp(a.s, b.s, a.len), "RSA PEM read back") ;
    ok(!dkimkey_generate(&k, DKIMKEY_RSA, 512), "no RSA key under 1024 bits") ;
    dkimkey_free(&k2) ;
    stralloc_free(&a) ; stralloc_free(&b) ;
  }
  dkimkey_free(&k) ;
  stralloc_free(&sa) ;
  return tap_done() ;
}
