/**
 * What n8n's editor shows for a given choice of operation, source or format: the parameters in
 * the panel, in order, and what an Options collection offers under "Add Option". Computed with
 * n8n-workflow's own display rule (NodeHelpers.displayParameterPath), as the editor does, so an
 * option of another operation offered in the list fails here, without a browser (issue 16).
 */
import { TotvsDump } from '../../../nodes/TotvsDump/TotvsDump.node';
import { TotvsUpload } from '../../../nodes/TotvsUpload/TotvsUpload.node';
import { TotvsVerify } from '../../../nodes/TotvsVerify/TotvsVerify.node';
import { addOption, panel } from './editor-display';

describe('TOTVS Upload: Options offer only what the operation uses', () => {
	const upload = new TotvsUpload().description;
	it.each([
		['upload', ['readBack', 'waitForLockSeconds', 'language']],
		['list', ['includeUnfinished', 'language']],
		['download', ['pgClientFolder', 'language']],
		['prune', ['timeZone', 'unfinishedAfterHours', 'waitForLockSeconds', 'language']],
	])('%s', (operation, expected) => {
		expect(addOption(upload, { operation }).sort()).toEqual([...expected].sort());
	});
});

describe('TOTVS Dump', () => {
	const dump = new TotvsDump().description;

	it('Parallel Jobs is offered with the Directory format only', () => {
		expect(addOption(dump, { source: 'postgres' })).not.toContain('jobs');
		expect(addOption(dump, { source: 'postgres', options: { format: 'custom' } })).not.toContain('jobs');
		expect(addOption(dump, { source: 'postgres', options: { format: 'directory' } })).toContain('jobs');
	});

	it('"Database + Files": the Options collections come after the main parameters', () => {
		const shown = panel(dump, { source: 'postgresAndFiles' });
		expect(shown.slice(0, 7)).toEqual([
			'Source',
			'Environment',
			'Staging Folder',
			// A restore point can be sealed (docs/sealing.md).
			'Encrypt and Sign',
			'Backup Type',
			'Folders',
			'Appserver.ini Path',
		]);
		expect(shown.indexOf('Options')).toBeGreaterThan(shown.indexOf('Appserver.ini Path'));
		expect(shown.indexOf('Files Options')).toBe(shown.indexOf('Options') + 1);
	});

	it('PostgreSQL: Options after the main parameters', () => {
		const shown = panel(dump, { source: 'postgres' });
		expect(shown.slice(0, 3)).toEqual(['Source', 'Environment', 'Staging Folder']);
		expect(shown).toContain('Options');
	});
});

describe('TOTVS Verify', () => {
	it('the SQL Server switch has a label the panel shows whole, and says at once that it is for SQL Server sets only', () => {
		// The set's engine is known only at run time, so the switch cannot be hidden for PostgreSQL sets.
		const toggle = new TotvsVerify().description.properties.find((p) => p.name === 'checkWithSqlServer')!;
		expect(toggle.displayName.length).toBeLessThanOrEqual(24);
		expect(toggle.description!.slice(0, 70)).toContain('SQL Server sets only');
		expect(panel(new TotvsVerify().description, {})).toContain(toggle.displayName);
	});
});
