/**
 * A minimal MessagePack encoder (the format's spec: nil, bool, integers in their smallest
 * form, float64, UTF-8 strings, arrays, maps in key insertion order). Hyperliquid hashes
 * an action as its MessagePack bytes, so the emulator re-encodes the action it received
 * to check the signature over it.
 */
const encoder = new TextEncoder();

export function msgpackEncode(value: unknown): Uint8Array {
  const out: number[] = [];
  const u = (n: number | bigint, bytes: number) => {
    for (let i = bytes - 1; i >= 0; i--) out.push(Number((BigInt(n) >> BigInt(8 * i)) & 0xffn));
  };
  const typed = (code: number, n: number | bigint, bytes: number) => {
    out.push(code);
    u(n, bytes);
  };
  const header = (n: number, fix: number, fixMax: number, codes: [number | undefined, number, number]) => {
    if (n <= fixMax) out.push(fix | n);
    else if (codes[0] !== undefined && n <= 0xff) out.push(codes[0], n);
    else if (n <= 0xffff) {
      out.push(codes[1]);
      u(n, 2);
    } else {
      out.push(codes[2]);
      u(n, 4);
    }
  };
  const write = (v: unknown): void => {
    if (v === null || v === undefined) out.push(0xc0);
    else if (v === true) out.push(0xc3);
    else if (v === false) out.push(0xc2);
    else if (typeof v === 'number') {
      if (Number.isInteger(v)) {
        if (v >= 0) {
          if (v <= 0x7f) out.push(v);
          else if (v <= 0xff) out.push(0xcc, v);
          else if (v <= 0xffff) typed(0xcd, v, 2);
          else if (v <= 0xffffffff) typed(0xce, v, 4);
          else typed(0xcf, v, 8);
        } else if (v >= -32) out.push(0x100 + v);
        else if (v >= -0x80) out.push(0xd0, v & 0xff);
        else if (v >= -0x8000) typed(0xd1, v & 0xffff, 2);
        else if (v >= -0x80000000) typed(0xd2, v >>> 0, 4);
        else typed(0xd3, BigInt.asUintN(64, BigInt(v)), 8);
      } else {
        const b = new DataView(new ArrayBuffer(8));
        b.setFloat64(0, v);
        out.push(0xcb, ...new Uint8Array(b.buffer));
      }
    } else if (typeof v === 'string') {
      const bytes = encoder.encode(v);
      header(bytes.length, 0xa0, 31, [0xd9, 0xda, 0xdb]);
      out.push(...bytes);
    } else if (Array.isArray(v)) {
      header(v.length, 0x90, 15, [undefined, 0xdc, 0xdd]);
      for (const item of v) write(item);
    } else if (typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
      header(entries.length, 0x80, 15, [undefined, 0xde, 0xdf]);
      for (const [k, x] of entries) {
        write(k);
        write(x);
      }
    } else throw new TypeError(`msgpack: cannot encode ${typeof v}`);
  };
  write(value);
  return Uint8Array.from(out);
}
