/**
 * Parsing the pinned SFTP host key: every form `ssh-keygen -lf` prints (SHA256 and MD5, whole
 * lines or the fingerprint alone, several lines), compared against the key's own digests, and
 * garbage refused with the accepted forms.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseHostKeyPin, sshFingerprint } from '../../../core/destinations/sftp/fingerprint';

let dir: string;
let blob: Buffer;
let otherBlob: Buffer;
const keygen = (...args: string[]) => execFileSync('ssh-keygen', args, { encoding: 'utf8' }).trim();
beforeAll(() => {
	dir = mkdtempSync(path.join(os.tmpdir(), 'totvs-host-key-pin-'));
	for (const name of ['k', 'other'])
		keygen('-q', '-t', 'ed25519', '-N', '', '-C', 'root@erp-backup', '-f', path.join(dir, name));
	const blobOf = (name: string) =>
		Buffer.from(readFileSync(path.join(dir, `${name}.pub`), 'utf8').split(' ')[1], 'base64');
	blob = blobOf('k');
	otherBlob = blobOf('other');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('host key pins', () => {
	it('SHA256: the fingerprint alone, with or without padding, and the whole ssh-keygen line', () => {
		const line = keygen('-lf', path.join(dir, 'k.pub'));
		const fingerprint = line.split(' ')[1];
		for (const form of [fingerprint, `${fingerprint}=`, line, `  ${line}\n`, fingerprint.slice('SHA256:'.length)]) {
			const pin = parseHostKeyPin(form);
			expect({ form, matches: pin.matches(blob), other: pin.matches(otherBlob) }).toEqual({
				form,
				matches: true,
				other: false,
			});
			expect(pin.md5).toBe(false);
			expect(pin.text).toBe(sshFingerprint(blob));
		}
	});

	it('several lines (ssh-keyscan | ssh-keygen -lf -): any of the keys', () => {
		const lines = `${keygen('-lf', path.join(dir, 'other.pub'))}\n${keygen('-lf', path.join(dir, 'k.pub'))}`;
		const pin = parseHostKeyPin(lines);
		expect([pin.matches(blob), pin.matches(otherBlob)]).toEqual([true, true]);
	});

	it("MD5: OpenSSH's MD5 line, the MD5: value, the bare hex pairs; compared with the key's MD5, flagged as MD5", () => {
		const line = keygen('-E', 'md5', '-lf', path.join(dir, 'k.pub'));
		const value = line.split(' ')[1];
		for (const form of [line, value, value.slice('MD5:'.length), value.slice('MD5:'.length).toUpperCase()]) {
			const pin = parseHostKeyPin(form);
			expect({ form, matches: pin.matches(blob), other: pin.matches(otherBlob), md5: pin.md5 }).toEqual({
				form,
				matches: true,
				other: false,
				md5: true,
			});
		}
	});

	it('garbage is refused with the accepted forms', () => {
		for (const garbage of [
			'',
			'hello',
			'SHA256:abc',
			'MD5:aa:bb:cc',
			`${'zz:'.repeat(15)}zz`,
			'256 (ED25519)',
			'SHA1:abcd',
		]) {
			expect(() => parseHostKeyPin(garbage)).toThrow(
				expect.objectContaining({ code: 'INVALID_INPUT', hint: expect.stringMatching(/ssh-keygen -lf/) }),
			);
		}
	});
});
