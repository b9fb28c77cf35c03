/**
 * Restore Test's "the restore server is the set's own source server" (issue 16): core's verdict
 * wins when it has one (PostgreSQL: the cluster's system_identifier, whatever address reached
 * it, or a shared resolved address and port), so production reached under another name is still
 * flagged in the item and the summary; the credential's address decides only without one.
 */
import type { Manifest } from '../../../core/backup-set/manifest';
import { onSetSourceServer, type RestoreServerAddress } from '../../../nodes/shared/restore-run';

const manifest = {
	engine: 'postgres',
	backupId: 'prod-20261126T020000Z-full-db',
	source: { host: 'db01.corp.example', port: 5432, database: 'protheus' },
} as unknown as Manifest;
const byAlias: RestoreServerAddress = { engine: 'postgres', host: '10.0.0.5', port: 5432, instance: null };
const sameName: RestoreServerAddress = { engine: 'postgres', host: 'db01.corp.example', port: 5432, instance: null };

describe('onSetSourceServer', () => {
	it("core's system_identifier match flags production reached by another address", () => {
		expect(onSetSourceServer({ onSourceServer: true }, manifest, byAlias)).toBe(true);
	});

	it('core saying "another cluster" is trusted over equal names (a new cluster under the old name)', () => {
		expect(onSetSourceServer({ onSourceServer: false }, manifest, sameName)).toBe(false);
	});

	it('without a verdict from core (SQL Server, a set refused before restoring), the addresses decide', () => {
		expect(onSetSourceServer({}, manifest, sameName)).toBe(true);
		expect(onSetSourceServer({}, manifest, byAlias)).toBe(false);
	});
});
