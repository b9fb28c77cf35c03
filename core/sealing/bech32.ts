/**
 * Bech32 (BIP-173, the original checksum constant, not bech32m) as age uses it for `age1…`
 * recipients and `AGE-SECRET-KEY-1…` identities. Like age's own decoder, no 90-character limit
 * (that limit is Bitcoin's). Errors are short reasons that never repeat the input, because the
 * input may be a secret key.
 */
const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
	let checksum = 1;
	for (const value of values) {
		const top = checksum >>> 25;
		checksum = ((checksum & 0x1ffffff) << 5) ^ value;
		for (let i = 0; i < 5; i++) if ((top >>> i) & 1) checksum ^= GENERATOR[i];
	}
	return checksum >>> 0;
}

function expandHrp(hrp: string): number[] {
	const out: number[] = [];
	for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >>> 5);
	out.push(0);
	for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
	return out;
}

/** Regroups bits (8 → 5 to encode, 5 → 8 to decode); decoding rejects non-zero padding. */
function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] | undefined {
	let accumulator = 0;
	let bits = 0;
	const out: number[] = [];
	const max = (1 << to) - 1;
	for (let i = 0; i < data.length; i++) {
		accumulator = (accumulator << from) | data[i];
		bits += from;
		while (bits >= to) {
			bits -= to;
			out.push((accumulator >>> bits) & max);
		}
		accumulator &= (1 << bits) - 1;
	}
	if (pad) {
		if (bits > 0) out.push((accumulator << (to - bits)) & max);
	} else if (bits >= from || (accumulator << (to - bits)) & max) {
		return undefined;
	}
	return out;
}

/** Encodes `data` under `hrp` (lower case; upper-case the result for AGE-SECRET-KEY-1…). */
export function bech32Encode(hrp: string, data: Uint8Array): string {
	const words = convertBits(data, 8, 5, true)!;
	const values = [...expandHrp(hrp), ...words, 0, 0, 0, 0, 0, 0];
	const mod = polymod(values) ^ 1;
	const checksum = [0, 1, 2, 3, 4, 5].map((i) => (mod >>> (5 * (5 - i))) & 31);
	return hrp + '1' + [...words, ...checksum].map((w) => CHARSET[w]).join('');
}

export type Bech32Result = { ok: true; hrp: string; data: Buffer; upperCase: boolean } | { ok: false; reason: string };

/**
 * Decodes a bech32 string. `hrp` comes back lower case; `upperCase` tells which case the
 * string was written in (mixed case is invalid).
 */
export function bech32Decode(text: string): Bech32Result {
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (c === 32 || c === 9) return { ok: false, reason: 'it contains a space (a key is a single word)' };
		if (c < 33 || c > 126) return { ok: false, reason: 'it contains a character that is not printable ASCII' };
	}
	const lower = text.toLowerCase();
	const upper = text.toUpperCase();
	if (text !== lower && text !== upper) return { ok: false, reason: 'it mixes upper and lower case' };
	const separator = lower.lastIndexOf('1');
	if (separator < 1) return { ok: false, reason: 'it has no bech32 prefix and separator "1"' };
	if (lower.length - separator - 1 < 6) return { ok: false, reason: 'it is too short' };
	const hrp = lower.slice(0, separator);
	const values: number[] = [];
	for (const char of lower.slice(separator + 1)) {
		const value = CHARSET.indexOf(char);
		if (value < 0)
			return { ok: false, reason: 'it contains a character bech32 does not use (b, i, o or 1 after the prefix)' };
		values.push(value);
	}
	if (polymod([...expandHrp(hrp), ...values]) !== 1) {
		return { ok: false, reason: 'its checksum does not match (a character was mistyped, or the key was cut short)' };
	}
	const bytes = convertBits(values.slice(0, -6), 5, 8, false);
	if (!bytes) return { ok: false, reason: 'its data has invalid padding' };
	return { ok: true, hrp, data: Buffer.from(bytes), upperCase: text === upper && text !== lower };
}
