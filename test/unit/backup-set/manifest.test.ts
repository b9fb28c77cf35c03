import { ManifestError, parseManifest, serializeManifest } from '../../../core/backup-set/manifest';
import { compactUtc, checkEnvironmentName, makeBackupId } from '../../../core/backup-set/ids';
import { BackupError } from '../../../core/errors';
import { sampleManifest } from '../../fixtures/manifest';

describe('manifest', () => {
	it('round-trips a valid manifest', () => {
		const manifest = sampleManifest();
		expect(parseManifest(serializeManifest(manifest), 'm.json')).toEqual(manifest);
	});

	it('names the field when a value is wrong', () => {
		const bad = sampleManifest();
		bad.artifacts[0].sha256 = 'not-a-hash';
		expect(() => parseManifest(JSON.stringify(bad), '/x/manifest.json')).toThrow(
			/Manifest \/x\/manifest.json is invalid: field artifacts\[0\]\.sha256: expected 64 lowercase hex characters/,
		);
	});

	it('names a missing nested field', () => {
		const bad = JSON.parse(JSON.stringify(sampleManifest()));
		delete bad.inventory.tables[0].rows;
		expect(() => parseManifest(JSON.stringify(bad), 'm.json')).toThrow(
			/field inventory\.tables\[0\]\.rows: expected an integer/,
		);
	});

	it('rejects truncated JSON with a clear reason', () => {
		const text = serializeManifest(sampleManifest());
		const error = (() => {
			try {
				parseManifest(text.slice(0, text.length / 2), 'm.json');
			} catch (e) {
				return e;
			}
			return undefined;
		})();
		expect(error).toBeInstanceOf(ManifestError);
		expect(error).toBeInstanceOf(BackupError);
		expect((error as ManifestError).message).toMatch(/not valid JSON.*truncated or was edited/);
		expect((error as ManifestError).code).toBe('MANIFEST_INVALID');
	});

	it('refuses a manifest from a newer format and says to update the package', () => {
		// 2 is a sealed set's format (issue 12), so the first unknown one is 3.
		const newer = { ...sampleManifest(), formatVersion: 3 };
		try {
			parseManifest(JSON.stringify(newer), 'm.json');
			throw new Error('should have thrown');
		} catch (error) {
			expect((error as ManifestError).message).toMatch(/manifest format 3, newer than the 2/);
			expect((error as ManifestError).hint).toMatch(/Update the n8n-nodes-totvs-backup package/);
		}
	});

	it('rejects artifact paths that escape the set folder', () => {
		for (const path of ['../etc/passwd', '/abs/file', 'a/../../b']) {
			const bad = sampleManifest();
			bad.artifacts[0].path = path;
			expect(() => parseManifest(JSON.stringify(bad), 'm.json')).toThrow(/artifacts\[0\]\.path/);
		}
	});

	it('refuses to serialize an invalid manifest', () => {
		const bad = sampleManifest({ durationMs: -1 });
		expect(() => serializeManifest(bad)).toThrow(/durationMs/);
	});
});

describe('backup ids', () => {
	it('sort by time and say environment, type and component', () => {
		const at = new Date('2026-11-26T02:00:00.123Z');
		expect(compactUtc(at)).toBe('20261126T020000Z');
		expect(makeBackupId('prod', 'full', 'database', at)).toBe('prod-20261126T020000Z-full-db');
		expect(makeBackupId('prod', 'incremental', 'files', at, 2)).toBe('prod-20261126T020000Z-incremental-files-2');
		const later = makeBackupId('prod', 'full', 'database', new Date('2026-11-27T01:00:00Z'));
		expect([later, makeBackupId('prod', 'full', 'database', at)].sort()[0]).toBe('prod-20261126T020000Z-full-db');
	});

	it('refuse environment names that are not safe folder names', () => {
		expect(checkEnvironmentName(' P12-homolog ')).toBe('P12-homolog');
		for (const bad of ['', '../x', 'a/b', 'prod env', '-x'])
			expect(() => checkEnvironmentName(bad)).toThrow(BackupError);
	});
});
