/**
 * NATS subject rules, shared by both adapters so the embedded log accepts and matches
 * exactly what JetStream does: tokens separated by '.', `*` matches one token, `>` matches
 * one or more trailing tokens.
 */

const BAD_TOKEN_CHARS = /[\s*>]/;

function tokensOk(subject: string, allowWildcards: boolean): boolean {
  if (subject.length === 0 || subject.length > 1024) return false;
  const tokens = subject.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    if (t.length === 0) return false;
    if (allowWildcards && t === '*') continue;
    if (allowWildcards && t === '>') {
      if (i !== tokens.length - 1) return false;
      continue;
    }
    if (BAD_TOKEN_CHARS.test(t)) return false;
  }
  return true;
}

/** The last subject found valid: a publisher's messages mostly repeat a few subjects. */
let lastValidPublishSubject: string | undefined;

/** A concrete subject one can publish to (no wildcards). */
export function isValidPublishSubject(subject: string): boolean {
  if (subject === lastValidPublishSubject) return true;
  if (!tokensOk(subject, false)) return false;
  lastValidPublishSubject = subject;
  return true;
}

/** A subject filter (wildcards allowed). */
export function isValidSubjectFilter(subject: string): boolean {
  return tokensOk(subject, true);
}

/** Does the concrete `subject` match `filter`? */
export function subjectMatches(filter: string, subject: string): boolean {
  if (filter === subject) return true;
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    const ft = f[i];
    if (ft === '>') return s.length > i;
    if (i >= s.length) return false;
    if (ft !== '*' && ft !== s[i]) return false;
  }
  return f.length === s.length;
}

/** Is there a concrete subject both filters match? (JetStream rejects overlapping streams.) */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; ; i++) {
    const xt = x[i];
    const yt = y[i];
    if (xt === undefined || yt === undefined) return xt === yt;
    if (xt === '>' || yt === '>') return true;
    if (xt !== '*' && yt !== '*' && xt !== yt) return false;
  }
}
