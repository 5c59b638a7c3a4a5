/* ISC license: see LICENSE. */

#ifndef KETCH_LOGLINE_H
#define KETCH_LOGLINE_H

#include <stddef.h>

#include <skalibs/stralloc.h>

/*
 * A log line read back, by the writer that sends the daemons' lines to
 * syslog or as JSON (ketch-log(8)): its level, and its JSON form. Two
 * kinds of line reach it on a daemon's stderr:
 *   - events, as lib/log makes them: an id, the event's name, then
 *     key=value fields, a value bare (up to the next space) or quoted by
 *     string_quote ("...", C escapes, \0xHH);
 *   - diagnostics, as strerr makes them: "prog: fatal: text", with
 *     info, warning or fatal.
 * The line is not trusted to be either (a line cut at the writer's
 * bound, a program's stray output): every octet string has a reading,
 * so the functions are total, and bounded: one pass over the line, the
 * output at most 6 octets per input octet plus the fixed names.
 *
 * The JSON object (RFC 8259), one per line, field names stable
 * (conf/LOGS.md):
 *   {"time":T,"program":P,"level":L,"id":ID,"event":E,"fields":{...}}
 * time and program are the writer's (when it read the line, whose log);
 * fields are nested, since events have fields named id and event of
 * their own (accepted id=, warning event=). Every value is a string,
 * quoted values decoded first; a word without '=' among the fields is
 * true. A diagnostic has "id":null, the level word as event, and the
 * fields source (the prog that wrote it) and text. Strings are escaped
 * per RFC 8259 section 7: '"', '\\' and control octets; octets that are
 * not UTF-8 (section 8.1) become U+FFFD.
 */

enum logline_level
{
  LOGLINE_INFO,
  LOGLINE_WARNING,
  LOGLINE_ERROR,    /* an event with result=error */
  LOGLINE_FATAL,
  LOGLINE_LEVELS
} ;

/* "info", "warning", "error", "fatal" */
extern char const *const logline_level_names[LOGLINE_LEVELS] ;

/* a diagnostic's word; an event named warning; result=error; else info */
extern unsigned int logline_level (char const *, size_t) ;

/*
 * The JSON object of the line (len octets, no newline) and "\n",
 * appended to sa; time and program are C strings. 1, or 0 and errno
 * (memory only).
 */
extern int logline_json (stralloc *, char const *, size_t, char const *, char const *) ;

/* len octets of s as a JSON string, in double quotes, appended to sa. 1, or 0 and errno */
extern int logline_json_string (stralloc *, char const *, size_t) ;

#endif
