/**
 * TOTVS Dump's "Send While Dumping" in n8n's editor: offered for a sealed PostgreSQL dump only
 * (a plain -Fc file is rewritten by pg_dump at its end, so nothing could be sent early), with its
 * notice and lock wait only when on, and the SFTP credential asked for only then.
 */
import { TotvsDump } from '../../../nodes/TotvsDump/TotvsDump.node';
import { panel } from './editor-display';

const dump = new TotvsDump().description;
const NOTICE = dump.properties.find((p) => p.name === 'sendWhileDumpingNotice')!.displayName;

describe('TOTVS Dump: Send While Dumping', () => {
	it('is offered for the PostgreSQL source with Encrypt and Sign only', () => {
		expect(panel(dump, { source: 'postgres', encryptAndSign: true })).toContain('Send While Dumping');
		expect(panel(dump, { source: 'postgres', encryptAndSign: false })).not.toContain('Send While Dumping');
		const offeredFor = ['postgresAndFiles', 'postgresPitr', 'protheusFiles', 'sqlserver'].filter((source) =>
			panel(dump, { source, encryptAndSign: true }).includes('Send While Dumping'),
		);
		expect(offeredFor).toEqual([]);
	});

	it('when on: the notice (Verify and Upload to the same SFTP complete the set) and the lock wait, after the switch', () => {
		const shown = panel(dump, { source: 'postgres', encryptAndSign: true, sendWhileDumping: true });
		const at = shown.indexOf('Send While Dumping');
		expect(shown.slice(at, at + 3)).toEqual(['Send While Dumping', NOTICE, 'Wait for Lock (Seconds)']);
		expect(NOTICE).toMatch(/TOTVS Verify and then TOTVS Upload to the same SFTP credential/);
		expect(NOTICE).toMatch(/another destination simply sends everything.*Prune/);
		expect(panel(dump, { source: 'postgres', encryptAndSign: true })).not.toContain('Wait for Lock (Seconds)');
	});

	it('asks for the TOTVS SFTP credential only with both switches on (conditions on top-level switches, not on Source)', () => {
		expect(dump.credentials!.find((c) => c.name === 'totvsSftp')).toEqual({
			name: 'totvsSftp',
			required: true,
			testedBy: 'totvsSftpConnectionTest',
			displayOptions: { show: { encryptAndSign: [true], sendWhileDumping: [true] } },
		});
	});
});
