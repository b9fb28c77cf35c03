import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isPartialName, normalizeRemotePath, partialName } from '../../../core/destinations/destination';
import { normalizeCertFingerprint } from '../../../core/destinations/ftp/tls';
import { sshFingerprint } from '../../../core/destinations/sftp/fingerprint';
import { checkRemoteCopy } from '../../../core/destinations/verification';

describe('destination helpers', () => {
	it('partial names live in the same folder, hidden, and are recognised', () => {
		expect(partialName('prod/set/database.dump')).toBe('prod/set/.database.dump.totvs-partial');
		expect(partialName('manifest.json')).toBe('.manifest.json.totvs-partial');
		expect(isPartialName('.database.dump.totvs-partial')).toBe(true);
		expect(isPartialName('database.dump')).toBe(false);
	});

	it('remote paths are normalised and never escape the root', () => {
		expect(normalizeRemotePath('/prod//set/./a.bin')).toBe('prod/set/a.bin');
		expect(normalizeRemotePath('', { allowRoot: true })).toBe('');
		expect(() => normalizeRemotePath('')).toThrow(/empty/);
		expect(() => normalizeRemotePath('prod/../../etc/passwd')).toThrow(/Invalid remote path/);
		expect(() => normalizeRemotePath('prod\\..\\x')).toThrow(/Invalid remote path/);
	});

	it('SSH fingerprints match what ssh-keygen -lf prints', () => {
		const dir = mkdtempSync(path.join(os.tmpdir(), 'totvs-fp-'));
		try {
			execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'k')]);
			const printed = execFileSync('ssh-keygen', ['-lf', path.join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1];
			const blob = Buffer.from(
				execFileSync('cat', [path.join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1],
				'base64',
			);
			expect(sshFingerprint(blob)).toBe(printed);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});

	it('certificate fingerprints are accepted as openssl or Node print them', () => {
		const hex = 'ab'.repeat(32);
		const canonical = normalizeCertFingerprint(hex);
		expect(canonical).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
		expect(normalizeCertFingerprint(`sha256 Fingerprint=${canonical}`)).toBe(canonical);
		expect(normalizeCertFingerprint(hex.toUpperCase())).toBe(canonical);
	});

	it('remote copies are checked by size, then the strongest hash available', () => {
		const local = { bytes: 3, sha256: 'a'.repeat(64), md5: 'b'.repeat(32) };
		expect(checkRemoteCopy(local, { size: 3, sha256: 'A'.repeat(64) }, 'x')).toBe('sha256');
		expect(checkRemoteCopy(local, { size: 3, md5: 'b'.repeat(32) }, 'x')).toBe('md5');
		expect(checkRemoteCopy(local, { size: 3 }, 'x')).toBe('size');
		expect(() => checkRemoteCopy(local, { size: 2 }, 'sftp://h/x')).toThrow(/size is 2, expected 3/);
		expect(() => checkRemoteCopy(local, { size: 3, sha256: 'c'.repeat(64) }, 'x')).toThrow(/SHA-256/);
		expect(() =>
			checkRemoteCopy({ bytes: 3, sha256: 'a'.repeat(64) }, { size: 3, md5: 'c'.repeat(32) }, 'x'),
		).not.toThrow();
	});
});
