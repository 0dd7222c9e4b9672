// Display formatting for the dashboard. Money arrives as decimal text and is formatted as
// text (rounded half away from zero on the digits), never through a float.

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** "12345.6789" with places 2 → "12,345.68"; "" → "–". */
export function fmtDec(text, places = 2) {
  if (text === undefined || text === null || text === '') return '–';
  const m = DECIMAL.exec(String(text).trim());
  if (!m) return String(text);
  const [, sign, intPart = '', fracPart = ''] = m;
  const digits = BigInt((intPart || '0') + fracPart.padEnd(places + 1, '0').slice(0, places + 1));
  const rounded = (digits + 5n) / 10n; // half away from zero on the magnitude
  let s = rounded.toString().padStart(places + 1, '0');
  const i = s.length - places;
  const whole = s.slice(0, i).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const frac = places > 0 ? `.${s.slice(i)}` : '';
  s = whole + frac;
  const negative = sign === '-' && /[1-9]/.test(s);
  return (negative ? '-' : '') + s;
}

/** -1, 0 or 1 for decimal text, for colouring. */
export function signOf(text) {
  const m = DECIMAL.exec(String(text ?? '').trim());
  if (!m || !/[1-9]/.test((m[2] ?? '') + (m[3] ?? ''))) return 0;
  return m[1] === '-' ? -1 : 1;
}

export function fmtAge(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return '–';
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} m ${Math.floor((ms % 60_000) / 1000)} s`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function fmtTime(ms) {
  if (!ms) return '–';
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

export function fmtHours(text) {
  return text ? `${text} h` : '–';
}

/** Escapes text for innerHTML. */
export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
