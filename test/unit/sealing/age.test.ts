import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import {
	AGE_CHUNK_SIZE,
	ageEncryptedSize,
	createDecryptStream,
	createEncryptStream,
	generateAgeIdentity,
	isSealingError,
	type DecryptOptions,
	type SealingError,
	type SealingReason,
} from '../../../core/sealing';
import { KEYGEN_FILE } from './fixtures';

const KiB = 1024;
const SEALED = AGE_CHUNK_SIZE + 16;

/** Splits `data` into pieces of the given sizes (cycled), as a stream would deliver it. */
function pieces(data: Buffer, sizes: number[] = [data.length || 1]): Buffer[] {
	const out: Buffer[] = [];
	for (let offset = 0, i = 0; offset < data.length; i++) {
		const n = Math.max(1, sizes[i % sizes.length]);
		out.push(data.subarray(offset, offset + n));
		offset += n;
	}
	return out;
}

async function run(stream: NodeJS.ReadWriteStream, input: Buffer[]): Promise<{ output: Buffer; error?: SealingError }> {
	const chunks: Buffer[] = [];
	try {
		await pipeline(
			Readable.from(input),
			stream,
			new Writable({
				write(chunk: Buffer, _encoding, callback) {
					chunks.push(chunk);
					callback();
				},
			}),
		);
		return { output: Buffer.concat(chunks) };
	} catch (error) {
		if (!isSealingError(error)) throw error;
		return { output: Buffer.concat(chunks), error };
	}
}

async function encrypt(data: Buffer, recipients: string[], sizes?: number[]): Promise<Buffer> {
	const { output, error } = await run(createEncryptStream(recipients), pieces(data, sizes));
	if (error) throw error;
	return output;
}

async function decrypt(file: Buffer, identities: string | string[], sizes?: number[], options?: DecryptOptions) {
	return run(createDecryptStream(identities, options), pieces(file, sizes));
}

async function expectFailure(
	file: Buffer,
	identities: string | string[],
	reason: SealingReason,
	options?: DecryptOptions,
) {
	const { output, error } = await decrypt(file, identities, undefined, options);
	expect(error?.reason).toBe(reason);
	return { output, error: error! };
}

const alice = generateAgeIdentity();
const bob = generateAgeIdentity();

describe('age encryption round trip', () => {
	it.each([0, 1, AGE_CHUNK_SIZE - 1, AGE_CHUNK_SIZE, AGE_CHUNK_SIZE + 1, 3 * AGE_CHUNK_SIZE, 1024 * KiB + 5])(
		'%i bytes: decrypts byte-exact, with the size ageEncryptedSize predicts',
		async (size) => {
			const data = randomBytes(size);
			const file = await encrypt(data, [alice.recipient]);
			expect(file.length).toBe(ageEncryptedSize(size, 1));
			const { output, error } = await decrypt(file, alice.identity);
			expect(error).toBeUndefined();
			expect(output.equals(data)).toBe(true);
		},
	);

	it('writes the age v1 header: intro, one X25519 stanza per recipient, MAC line', async () => {
		const file = await encrypt(Buffer.from('x'), [alice.recipient, bob.recipient]);
		const lines = file.toString('latin1').split('\n').slice(0, 6);
		expect(lines[0]).toBe('age-encryption.org/v1');
		expect(lines[1]).toMatch(/^-> X25519 [A-Za-z0-9+/]{43}$/);
		expect(lines[2]).toMatch(/^[A-Za-z0-9+/]{43}$/);
		expect(lines[3]).toMatch(/^-> X25519 [A-Za-z0-9+/]{43}$/);
		expect(lines[5]).toMatch(/^--- [A-Za-z0-9+/]{43}$/);
		expect(file.length).toBe(ageEncryptedSize(1, 2));
	});

	it('every recipient can decrypt; fresh keys every file (same input, different ciphertext)', async () => {
		const data = randomBytes(100 * KiB);
		const file = await encrypt(data, [alice.recipient, bob.recipient]);
		for (const identity of [alice.identity, bob.identity]) {
			const stream = createDecryptStream(identity);
			const { output } = await run(stream, [file]);
			expect(output.equals(data)).toBe(true);
			expect(stream.openedBy).toBe(identity === alice.identity ? alice.fingerprint : bob.fingerprint);
		}
		expect(file.equals(await encrypt(data, [alice.recipient, bob.recipient]))).toBe(false);
	});

	it('tries every identity given (several keys, e.g. after a rotation)', async () => {
		const file = await encrypt(Buffer.from('rotated'), [bob.recipient]);
		const { output } = await decrypt(file, [KEYGEN_FILE, alice.identity, bob.identity]);
		expect(output.toString()).toBe('rotated');
	});

	it('gives the same bytes however input and ciphertext are split into writes', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.integer({ min: 0, max: 3 * AGE_CHUNK_SIZE + 100 }),
				fc.array(fc.integer({ min: 1, max: 2 * SEALED + 3 }), { minLength: 1, maxLength: 6 }),
				fc.array(fc.integer({ min: 1, max: 2 * SEALED + 3 }), { minLength: 1, maxLength: 6 }),
				async (size, writeSizes, readSizes) => {
					const data = randomBytes(size);
					const file = await encrypt(data, [alice.recipient], writeSizes);
					expect(file.length).toBe(ageEncryptedSize(size, 1));
					const { output, error } = await decrypt(file, alice.identity, readSizes);
					expect(error).toBeUndefined();
					expect(output.equals(data)).toBe(true);
				},
			),
			{ numRuns: 40 },
		);
	});

	it('decrypts a file the reference age CLI wrote (known answer)', async () => {
		// `printf 'hello, age\\n' | age -r age1a4hz2t6adlup5rpm450tr4r7e00fy2de4e7ygtp8q02gyt9kay4sckd468` (age 1.1.1)
		const file = Buffer.from(
			'YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBjMHF1VnZnQ3VWUzNWYnRHcFVGQ0NuTldGNnlsSE52RjNTeVVubDhSalFJCnRlQTE3SFV5' +
				'U1p6aFl4bnBOTkIzanVhU2VzNzFRSUpsMEptU0d0UXJkeWMKLS0tIGcrbkxqbiszVVRkU0NOWjdHc1hPamZ4UXNiajlHdksyU0NmZXZicTV3d2MK' +
				'uPhFJskgtDiGRt+48Yn85D2k38w92InKoRzO7YK1bIJ7D7NURxnYAbB/Jw==',
			'base64',
		);
		const { output, error } = await decrypt(file, KEYGEN_FILE);
		expect(error).toBeUndefined();
		expect(output.toString()).toBe('hello, age\n');
	});
});

describe('memory stays flat', () => {
	it('never holds more than a few chunks, encrypting or decrypting 32 MiB from a fast producer', async () => {
		const block = randomBytes(AGE_CHUNK_SIZE + 999);
		const total = 32 * 1024 * KiB;
		function* produce() {
			for (let sent = 0; sent < total; sent += block.length) yield block;
		}
		let peak = 0;
		const encryptor = createEncryptStream(alice.recipient);
		const decryptor = createDecryptStream(alice.identity);
		let bytes = 0;
		const sample = () => {
			peak = Math.max(
				peak,
				encryptor.readableLength + encryptor.writableLength,
				decryptor.readableLength + decryptor.writableLength,
			);
		};
		await pipeline(
			Readable.from(produce(), { objectMode: false }),
			encryptor,
			decryptor,
			new Writable({
				highWaterMark: 16 * KiB,
				write(chunk: Buffer, _encoding, callback) {
					sample();
					bytes += chunk.length;
					setImmediate(callback); // a consumer slower than the producer
				},
			}),
		);
		expect(bytes).toBeGreaterThanOrEqual(total);
		expect(decryptor.plaintextBytes).toBe(bytes);
		expect(peak).toBeLessThan(4 * SEALED);
	});
});

describe('bad ciphertext', () => {
	const data = randomBytes(3 * AGE_CHUNK_SIZE + 500); // chunks 0, 1, 2 full, 3 short (last)
	let file: Buffer;
	let headerLength: number;
	beforeAll(async () => {
		file = await encrypt(data, [alice.recipient]);
		headerLength = file.indexOf('\n---') + 1 + 4 + 43 + 1;
	});
	const flip = (at: number) => {
		const copy = Buffer.from(file);
		copy[at] ^= 0x01;
		return copy;
	};
	/** Changes one base64 character of the header into another valid one (a flip could leave the alphabet). */
	const substitute = (at: number) => {
		const copy = Buffer.from(file);
		copy[at] = copy[at] === 0x41 ? 0x42 : 0x41;
		return copy;
	};

	it.each([0, 1, 2, 3])(
		'a flipped byte in payload chunk %i fails naming that chunk, after handing on only the chunks before it',
		async (chunk) => {
			const at = headerLength + 16 + chunk * SEALED + 100;
			const { output, error } = await expectFailure(flip(at), alice.identity, 'PAYLOAD_DAMAGED', {
				name: 'db.dump.age',
			});
			expect(error.code).toBe('VERIFY_FAILED');
			expect(error.message).toContain('"db.dump.age"');
			expect(error.message).toContain(`payload chunk ${chunk} `);
			expect(error.message).toMatch(/altered/);
			expect(output.equals(data.subarray(0, chunk * AGE_CHUNK_SIZE))).toBe(true);
		},
	);

	it('a flipped byte in the payload nonce fails at the first chunk', async () => {
		const { error } = await expectFailure(flip(headerLength + 3), alice.identity, 'PAYLOAD_DAMAGED');
		expect(error.message).toContain('payload chunk 0 ');
	});

	it('a flipped byte in the header MAC fails as an altered header', async () => {
		const { output, error } = await expectFailure(substitute(headerLength - 10), alice.identity, 'HEADER_MAC_MISMATCH');
		expect(error.message).toMatch(/header MAC/);
		expect(output).toHaveLength(0);
	});

	it('a flipped byte in the stanza body: an altered header when the manifest says this key should open it', async () => {
		const at = file.indexOf('\n', file.indexOf('-> X25519')) + 5;
		const { error } = await expectFailure(substitute(at), alice.identity, 'HEADER_INVALID', {
			recipientFingerprints: [alice.fingerprint],
		});
		expect(error.message).toMatch(/header was altered/);
		// Without that knowledge it cannot be told from a wrong key.
		await expectFailure(substitute(at), alice.identity, 'NO_MATCHING_IDENTITY');
	});

	it('a flipped byte in the intro line: not an age file', async () => {
		const { error } = await expectFailure(flip(2), alice.identity, 'NOT_AGE_FILE');
		expect(error.hint).toMatch(/encryption on/);
	});

	it('a header that breaks the grammar is named by line', async () => {
		const text = file.subarray(0, headerLength).toString('latin1');
		const broken = Buffer.concat([
			Buffer.from(text.replace('-> X25519 ', '-> X25519  '), 'latin1'),
			file.subarray(headerLength),
		]);
		const { error } = await expectFailure(broken, alice.identity, 'HEADER_INVALID');
		expect(error.message).toMatch(/header line 2/);
	});

	it('cut at a chunk boundary: truncated (the last chunk is not marked last)', async () => {
		const cut = file.subarray(0, headerLength + 16 + 2 * SEALED);
		const { output, error } = await expectFailure(cut, alice.identity, 'PAYLOAD_TRUNCATED');
		expect(error.message).toMatch(/payload chunk 1 .*not marked as the last chunk/);
		expect(output.equals(data.subarray(0, AGE_CHUNK_SIZE))).toBe(true);
	});

	it.each([
		['inside a chunk', (f: Buffer, h: number) => f.subarray(0, h + 16 + SEALED + 1000), 'PAYLOAD_DAMAGED', /cut short/],
		['by one byte', (f: Buffer) => f.subarray(0, f.length - 1), 'PAYLOAD_DAMAGED', /cut short/],
		['inside the last tag', (f: Buffer) => f.subarray(0, f.length - 500 - 5), 'PAYLOAD_TRUNCATED', /fewer than/],
		['right after the header', (f: Buffer, h: number) => f.subarray(0, h + 16), 'PAYLOAD_TRUNCATED', /no chunk/],
		['inside the nonce', (f: Buffer, h: number) => f.subarray(0, h + 5), 'PAYLOAD_TRUNCATED', /before the payload/],
		['inside the header', (f: Buffer) => f.subarray(0, 40), 'PAYLOAD_TRUNCATED', /inside its header/],
		['to nothing', () => Buffer.alloc(0), 'PAYLOAD_TRUNCATED', /empty/],
	] as const)('cut %s: fails, saying so', async (_what, cut, reason, pattern) => {
		const { error } = await expectFailure(cut(file, headerLength), alice.identity, reason);
		expect(error.message).toMatch(pattern);
	});

	it('data appended after the last chunk fails', async () => {
		const exact = await encrypt(randomBytes(2 * AGE_CHUNK_SIZE), [alice.recipient]);
		const { error } = await expectFailure(Buffer.concat([exact, randomBytes(40)]), alice.identity, 'PAYLOAD_DAMAGED');
		expect(error.message).toMatch(/marked as the last chunk, yet more data follows/);
	});

	it('an ASCII-armored file, another age version, or any other file is refused as not age', async () => {
		const armored = Buffer.from('-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+\n');
		expect((await expectFailure(armored, alice.identity, 'NOT_AGE_FILE')).error.message).toMatch(/armored/);
		const v2 = Buffer.from('age-encryption.org/v2\n-> X25519 abc\n');
		expect((await expectFailure(v2, alice.identity, 'NOT_AGE_FILE')).error.message).toMatch(/version/);
		const plain = Buffer.from('PGDMP\x01\x0e\x00 a pg_dump archive');
		expect((await expectFailure(plain, alice.identity, 'NOT_AGE_FILE')).error.code).toBe('VERIFY_FAILED');
	});
});

describe('wrong identity', () => {
	it('names the stanzas it saw, the fingerprints given and those it was sealed for, never a key', async () => {
		const file = await encrypt(Buffer.from('secret'), [alice.recipient, bob.recipient]);
		const stranger = generateAgeIdentity();
		const { output, error } = await expectFailure(file, stranger.identity, 'NO_MATCHING_IDENTITY', {
			name: 'prod/db.dump.age',
			recipientFingerprints: [alice.fingerprint, bob.fingerprint],
		});
		expect(output).toHaveLength(0);
		expect(error.code).toBe('AUTH_FAILED');
		expect(error.message).toContain('"prod/db.dump.age"');
		expect(error.message).toContain('2 recipient stanza(s) (X25519 ×2)');
		expect(error.message).toContain(stranger.fingerprint);
		expect(error.message).toContain(`${alice.fingerprint}, ${bob.fingerprint}`);
		expect(error.hint).toContain(alice.fingerprint);
		const text = error.message + error.hint;
		for (const key of [stranger.identity, alice.identity, bob.identity]) expect(text).not.toContain(key.slice(16, 30));
	});

	it('without the manifest fingerprints, still says what to look for', async () => {
		const file = await encrypt(Buffer.from('secret'), [alice.recipient]);
		const { error } = await expectFailure(file, bob.identity, 'NO_MATCHING_IDENTITY');
		expect(error.message).toContain('X25519 ×1');
		expect(error.hint).toMatch(/manifest/);
	});

	it('rejects malformed identities before reading anything', () => {
		expect(() => createDecryptStream('AGE-SECRET-KEY-1NOTAKEY')).toThrow(
			expect.objectContaining({ reason: 'IDENTITY_INVALID' }),
		);
		expect(() => createEncryptStream(['age1notakey'])).toThrow(
			expect.objectContaining({ reason: 'RECIPIENT_INVALID' }),
		);
		expect(() => createEncryptStream([])).toThrow(expect.objectContaining({ reason: 'NO_RECIPIENTS' }));
	});
});
