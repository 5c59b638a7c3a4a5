/* ISC license: see LICENSE. */

#ifndef KETCH_CONF_H
#define KETCH_CONF_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

/*
 * The configuration: one file of sentences, one per line, described in
 * ketch.conf(5). Strings live in conf.sa; the structures hold offsets
 * into it (sa grows while parsing). Relative paths are resolved against
 * the directory of the configuration file, so an instance is a directory.
 * An offset of 0 means "not set": sa starts with a NUL.
 */

/* make SYSCONFDIR=... sets it; a set-uid enqueue reads only this file */
#ifdef KETCH_CONF_DEFAULT
#define CONF_DEFAULT KETCH_CONF_DEFAULT
#else
#define CONF_DEFAULT "/etc/ketch/ketch.conf"
#endif

#define CONF_LISTEN_STARTTLS 0x01   /* offer STARTTLS (needs a certificate) */
#define CONF_LISTEN_TLSREQUIRED 0x02 /* refuse MAIL before STARTTLS */
#define CONF_LISTEN_SMTPS 0x04      /* implicit TLS (RFC 8314) */
#define CONF_LISTEN_AUTH 0x08       /* offer AUTH */
#define CONF_LISTEN_AUTHREQUIRED 0x10 /* refuse MAIL before AUTH (submission) */
#define CONF_LISTEN_PLAINAUTH 0x20  /* offer AUTH without TLS (loopback tests) */
#define CONF_LISTEN_SENDERLOGIN 0x40 /* check senders against sender-login-map (the default of auth-required) */
#define CONF_LISTEN_ANYSENDER 0x80  /* do not (the default of the others) */

typedef struct conf_listen_s conf_listen ;
struct conf_listen_s
{
  char ip[16] ;
  int is6 ;
  uint16_t port ;
  unsigned int flags ;
  unsigned int line ;
  size_t filter_first ;      /* its filters, in order: conf.filter_use[first..first+count) */
  unsigned int filter_count ;
} ;

/* filter NAME ADDRESS [on-failure tempfail|accept]: a milter (lib/filter) */
#define CONF_FILTER_TEMPFAIL 0  /* a filter down, timed out or broken: 451 4.7.1 (Postfix's milter_default_action advice) */
#define CONF_FILTER_ACCEPT 1    /* ... skipped for the rest of the session */
typedef struct conf_filter_s conf_filter ;
struct conf_filter_s
{
  size_t name ;
  size_t address ;     /* unix:/path, inet:host:port or inet6:[addr]:port */
  unsigned int onfail ;
  unsigned int line ;
} ;

typedef struct conf_net_s conf_net ;
struct conf_net_s
{
  char ip[16] ;
  int is6 ;
  unsigned int bits ;
} ;

enum conf_delivery_e
{
  CONF_DELIVER_MAILDIR,
  CONF_DELIVER_MBOX,
  CONF_DELIVER_MDA,
  CONF_DELIVER_LMTP
} ;

/* a delivery method: where mail for a local or virtual user goes */
typedef struct conf_delivery_s conf_delivery ;
struct conf_delivery_s
{
  enum conf_delivery_e type ;
  size_t arg ;       /* maildir/mbox path template, lmtp target, or mda argv (NUL-separated) */
  unsigned int argc ;/* mda: number of argv strings starting at arg */
} ;

#define CONF_TLS_OPPORTUNISTIC 0
#define CONF_TLS_REQUIRED 1
#define CONF_TLS_VERIFY 2
#define CONF_TLS_NONE 3
/* DANE (RFC 7672): a hop's policy when its usable TLSA records authenticate the server */
#define CONF_TLS_DANE 4
/* tls-policy's dane-only: DANE or no delivery (a hop never runs under it: lib/route decides) */
#define CONF_TLS_DANE_ONLY 5
/* the word of a policy in the configuration and the logs: "opportunistic", ...; "?" out of range */
extern char const *conf_tls_name (unsigned int) ;
/* the same in tls-policy's words (Postfix's smtp_tls_policy_maps): "may", "encrypt", "dane"... */
extern char const *conf_tls_policy_name (unsigned int) ;

#define CONF_MTASTS_OFF 0
#define CONF_MTASTS_ON 1
#define CONF_LOG_S6 0
#define CONF_LOG_SYSLOG 1
#define CONF_LOGFMT_TEXT 0
#define CONF_LOGFMT_JSON 1

/* dot-forward off|on: whether a local user's ~/.forward decides (lib/dotforward) */
#define CONF_DOTFORWARD_OFF 0
#define CONF_DOTFORWARD_ON 1

/* tls-policy DOMAIN WORD: the TLS policy (CONF_TLS_*) of one destination domain */
typedef struct conf_tlspolicy_s conf_tlspolicy ;
struct conf_tlspolicy_s
{
  size_t domain ;
  unsigned int tls ;
} ;

/* a static route: mail for domain (0 = the default, a smarthost) goes to host:port */
typedef struct conf_route_s conf_route ;
struct conf_route_s
{
  size_t domain ;
  size_t host ;
  uint16_t port ;
  unsigned int tls ;
  size_t auth ;      /* credentials file for AUTH to this route, or 0 */
} ;

/*
 * A virtual domain: its users come from a file, not from the system
 * (lib/lookup, lib/vuser). "map FILE": "user@domain [target]" lines
 * compiled to FILE.cdb by newaliases; "passwd-file FILE": Dovecot's
 * user list (user:{SCHEME}hash:...), read as it is, its first field
 * only. deliver: the domain's method (maildir TEMPLATE or lmtp TARGET)
 * for a user whose entry names no target of its own; arg 0: none.
 */
#define CONF_VUSERS_MAP 0
#define CONF_VUSERS_PASSWD 1
typedef struct conf_vdomain_s conf_vdomain ;
struct conf_vdomain_s
{
  size_t domain ;
  size_t map ;       /* the map file, or the passwd-file */
  unsigned int users ;     /* CONF_VUSERS_* */
  conf_delivery deliver ;
} ;

/*
 * relay-domain DOMAIN [via HOST[:PORT]] [recipients FILE | verify]: mail
 * for domain is accepted from any client (backup MX, inbound gateway),
 * queued, and forwarded to host (port; 0 host: the domain's MX, RFC
 * 5321 §5.1, without this host and worse exchangers). Its recipients are
 * checked at RCPT against list (a file compiled to list.cdb, like a
 * virtual-domain map), or by a callout to the next hop (lib/callout),
 * or not at all.
 */
#define CONF_RELAY_CHECK_NONE 0
#define CONF_RELAY_CHECK_LIST 1
#define CONF_RELAY_CHECK_VERIFY 2
typedef struct conf_relaydomain_s conf_relaydomain ;
struct conf_relaydomain_s
{
  size_t domain ;
  size_t host ;      /* 0: the domain's MX */
  uint16_t port ;
  unsigned int check ;  /* CONF_RELAY_CHECK_* */
  size_t list ;      /* CONF_RELAY_CHECK_LIST: the recipients file */
  unsigned int line ;
} ;

/*
 * A DKIM signing key (dkim-sign DOMAIN selector SEL key FILE): mail
 * whose From domain is domain, or with subdomains a domain under it, is
 * signed d=domain s=selector (lib/dkim, lib/submit). alg: what the line
 * says, CONF_DKIM_ANY when it says nothing (the key's type decides);
 * the values are lib/dkimkey.h's DKIMKEY_RSA and DKIMKEY_ED25519.
 */
#define CONF_DKIM_ANY 0
#define CONF_DKIM_RSA 1
#define CONF_DKIM_ED25519 2
typedef struct conf_dkim_s conf_dkim ;
struct conf_dkim_s
{
  size_t domain ;
  size_t selector ;
  size_t key ;
  unsigned int alg ;
  int subdomains ;
  unsigned int line ;
} ;

typedef struct conf_s conf, *conf_ref ;
struct conf_s
{
  stralloc sa ;
  size_t file ;        /* the configuration file's path */
  size_t dir ;         /* its directory */
  size_t hostname ;
  size_t spool ;
  size_t queue_user ;  /* owner of the spool, scheduler; 0: the invoking user */
  size_t smtp_user ;   /* SMTP sessions run as this user; 0: the invoking user */
  size_t alias_user ;  /* runs the files and programs of tables root owns; 0: "nobody" */
  unsigned int local_uid_min ;  /* system users below it (or in group 0) receive no mail */
  size_t cert ;
  size_t key ;
  size_t aliases ;
  size_t auth_table ;
  size_t auth_dovecot ;
  size_t sender_login_map ; /* login -> the addresses and @domains it may send as (lib/senderlogin) */ /* "auth dovecot SOCKET": AUTH is checked by Dovecot (lib/dovecotauth), not the auth-table */
  unsigned int cert_line ;   /* the lines that name them, for conf_files_check */
  unsigned int aliases_line ;
  unsigned int auth_table_line ;
  size_t bindir ;      /* where the ketch programs are ("programs"); default: compiled in */
  size_t enqueue_socket ; /* enqueue-listen's socket; 0: none, enqueue is spawned per message */
  genalloc listen ;    /* conf_listen */
  genalloc filters ;   /* conf_filter */
  genalloc filter_use ;/* size_t: the name offsets the listen lines' "filter NAME" give, each line's together */
  genalloc local_filters ; /* size_t: local-filter's names, for sendmail's mail (Postfix's non_smtpd_milters) */
  unsigned int local_filter_line ;
  genalloc local_domains ; /* size_t */
  genalloc vdomains ;  /* conf_vdomain */
  genalloc relay_nets ;/* conf_net */
  genalloc routes ;    /* conf_route; domain 0 = smarthost */
  genalloc dkim ;      /* conf_dkim, in the file's order */
  genalloc relay_domains ; /* conf_relaydomain */
  conf_delivery deliver ;
  unsigned int tls_outbound ;
  uint64_t message_size ;
  unsigned int max_recipients ;
  unsigned int max_connections ;
  unsigned int max_per_client ;
  unsigned int max_errors ;
  unsigned int max_hops ;  /* Received fields, ours included (RFC 5321 §6.3) */
  unsigned int concurrency_local ;
  unsigned int concurrency_remote ;
  unsigned int concurrency_destination ;
  unsigned int messages_per_connection ;  /* remote-send -b: messages per batch, one SMTP connection */
  unsigned int tls_session_cache ;  /* seconds a TLS session can be resumed (smtp-keyd's cache); 0: never */
  unsigned int tlsrpt_period ;    /* seconds; 0: no TLS-RPT (RFC 8460) */
  unsigned int timeout_command ;  /* seconds; RFC 5321 §4.5.3.2 */
  unsigned int timeout_data ;
  unsigned int timeout_session ;
  unsigned int timeout_connect ;
  unsigned int timeout_delivery ;
  unsigned int timeout_filter_connect ;  /* lib/filter: connect and negotiation */
  unsigned int timeout_filter_command ;  /* each SMTP stage's answer */
  unsigned int timeout_filter_data ;     /* each header, body chunk and end of message */
  unsigned int callout_timeout ;   /* a recipient callout, all of it (lib/callout) */
  unsigned int callout_positive ;  /* how long the cache keeps an accepted recipient */
  unsigned int callout_negative ;  /* ... and a refused one */
  size_t callout_cache ;           /* its directory, the SMTP user's; 0: no cache */
  unsigned int retry_local ;      /* seconds: first retry; the n-th waits base * n^2 */
  unsigned int retry_remote ;
  unsigned int retry_max ;        /* the wait is capped at this */
  unsigned int rescan ;           /* the scheduler rescans the spool this often */
  uint64_t expire ;
  uint64_t warn ;
  /* remote-send: "resolver IP [port N]" (0 port = use /etc/resolv.conf),
     "remote-port N" (SMTP port of MX hosts; 25), "ca-file FILE" (trust
     anchors for "tls verify"; 0 = the system bundle) */
  char resolver_ip[16] ;
  int resolver_is6 ;
  uint16_t resolver_port ;
  uint16_t remote_port ;
  size_t ca_file ;
  /* DANE: "dnssec-resolver IP [port N]" sets resolver_* and this flag (the resolver's AD bit is trusted);
     "tls-policy DOMAIN WORD" rules */
  int resolver_dnssec ;
  genalloc tls_policies ;  /* conf_tlspolicy */
  /* MTA-STS (RFC 8461): "mta-sts off|on" (CONF_MTASTS_*), and the HTTPS port of the policy fetch (443; another only for tests) */
  unsigned int mta_sts ;
  uint16_t mta_sts_port ;
  /* the daemons' logs, as ketch-services makes their log/run scripts:
     "log s6|syslog" (CONF_LOG_*), "log-format text|json" (CONF_LOGFMT_*);
     the programs themselves always write key=value lines on stderr */
  unsigned int log_dest ;
  unsigned int log_format ;
  /* "dot-forward off|on" (CONF_DOTFORWARD_*): a local user's ~/.forward is followed (on, the default, as sendmail and Postfix) */
  unsigned int dot_forward ;
} ;

#define conf_str(c, off) ((off) ? (c)->sa.s + (off) : (char const *)0)

extern int conf_load (conf *, char const *, stralloc *) ;
extern int conf_load_default (conf *, char const *, stralloc *) ;
extern char const *conf_path (char const *) ;
extern int conf_check (conf *, char const *, stralloc *, unsigned int *) ;
extern int conf_print (conf const *, stralloc *) ;
/* every keyword, one per line, with its second word where it picks the setting ("limit recipients") */
extern int conf_keywords (stralloc *) ;

/* the files a configuration names, for the programs that read them (lib/conffiles.c) */
#define CONF_FILES_SMTP 0x01     /* certificate, key, auth-table: the SMTP user's */
#define CONF_FILES_ALIASES 0x02  /* aliases: the queue user's */
#define CONF_FILES_DKIM 0x04     /* dkim-sign keys: the queue user's, and each a key (lib/dkimkey) */
#define CONF_FILES_ALL (CONF_FILES_SMTP | CONF_FILES_ALIASES | CONF_FILES_DKIM)
extern unsigned int conf_files_check (conf const *, unsigned int, stralloc *) ;
extern void conf_free (conf *) ;
extern int conf_is_local_domain (conf const *, char const *) ;
extern conf_vdomain const *conf_vdomain_find (conf const *, char const *) ;
extern int conf_relay_allowed (conf const *, char const *, int) ;
/* 1: a listener with these CONF_LISTEN_* flags checks senders against sender-login-map */
extern int conf_sender_login (conf const *, unsigned int) ;
extern conf_route const *conf_route_find (conf const *, char const *) ;
/* the relay-domain line of a domain (any case), or 0 */
extern conf_relaydomain const *conf_relaydomain_find (conf const *, char const *) ;
/* the tls-policy rule of a domain, or 0 */
extern conf_tlspolicy const *conf_tlspolicy_find (conf const *, char const *) ;
/*
 * The dkim-sign lines that sign mail from domain (lower case), one per
 * call: *i starts at 0. The lines of the domain itself if it has any,
 * else those of its nearest parent that has lines with subdomains (only
 * those). 0 when there are no more.
 */
extern conf_dkim const *conf_dkim_next (conf const *, char const *, size_t *) ;
/* the filter of that name, or 0 (conf_load refuses a listen or local-filter line naming an unknown one) */
extern conf_filter const *conf_filter_find (conf const *, char const *) ;
/* sa = the path of ketch program name ("programs" directory, /, name, NUL). 1, or 0 and errno */
extern int conf_prog (conf const *, char const *, stralloc *) ;

#endif
