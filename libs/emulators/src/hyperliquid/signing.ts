/**
 * Hyperliquid L1 action signatures, checked the way the venue checks them: the action's
 * MessagePack bytes + nonce (8 bytes, big-endian) + vault flag (+ address) are hashed with
 * keccak-256 into a phantom agent's `connectionId`; the agent `{source: 'a' (mainnet) |
 * 'b' (testnet), connectionId}` is signed as EIP-712 typed data in the domain
 * `Exchange / 1 / chainId 1337 / 0x0`. The signer is recovered from `{r, s, v}` and must
 * be the account's own address or an agent wallet approved for it.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { msgpackEncode } from '../shared/msgpack.js';

const text = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/^0x/, ''), 'hex'));

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts.map((p) => Buffer.from(p))));
}

function uint256(n: bigint): Uint8Array {
  return fromHex(n.toString(16).padStart(64, '0'));
}

const DOMAIN_TYPE = keccak_256(
  text('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)'),
);
const AGENT_TYPE = keccak_256(text('Agent(string source,bytes32 connectionId)'));
const DOMAIN_SEPARATOR = keccak_256(
  concat(
    DOMAIN_TYPE,
    keccak_256(text('Exchange')),
    keccak_256(text('1')),
    uint256(1337n),
    new Uint8Array(32),
  ),
);

export function actionHash(action: unknown, nonce: number, vaultAddress: string | undefined): Uint8Array {
  const nonceBytes = uint256(BigInt(nonce)).slice(24);
  const vault =
    vaultAddress === undefined ? Uint8Array.of(0) : concat(Uint8Array.of(1), fromHex(vaultAddress));
  return keccak_256(concat(msgpackEncode(action), nonceBytes, vault));
}

/** The EIP-712 digest a wallet signs for an L1 action. */
export function l1ActionDigest(
  action: unknown,
  nonce: number,
  vaultAddress: string | undefined,
  testnet: boolean,
): Uint8Array {
  const connectionId = actionHash(action, nonce, vaultAddress);
  const structHash = keccak_256(concat(AGENT_TYPE, keccak_256(text(testnet ? 'b' : 'a')), connectionId));
  return keccak_256(concat(Uint8Array.of(0x19, 0x01), DOMAIN_SEPARATOR, structHash));
}

export interface WireSignature {
  r: string;
  s: string;
  v: number;
}

/** The address (lower-case 0x...) that signed the digest; throws on a malformed signature. */
export function recoverSigner(digest: Uint8Array, signature: WireSignature): string {
  const compact = concat(
    fromHex(signature.r.replace(/^0x/, '').padStart(64, '0')),
    fromHex(signature.s.replace(/^0x/, '').padStart(64, '0')),
  );
  const recovery = signature.v >= 27 ? signature.v - 27 : signature.v;
  const point = secp256k1.Signature.fromBytes(compact, 'compact')
    .addRecoveryBit(recovery)
    .recoverPublicKey(digest);
  const uncompressed = point.toBytes(false).slice(1);
  return `0x${hex(keccak_256(uncompressed).slice(12))}`;
}

/** The address of a private key (for configuring agents in tests). */
export function addressOf(privateKeyHex: string): string {
  const pub = secp256k1.getPublicKey(fromHex(privateKeyHex), false).slice(1);
  return `0x${hex(keccak_256(pub).slice(12))}`;
}
