/**
 * FTP `SITE CHMOD` is best effort (core/destinations/ftp/session.ts): a server that refuses it
 * (vsftpd with chmod_enable=NO, servers without SITE) keeps its own modes, nothing fails, the
 * refusal is remembered and the command is not sent again on that connection.
 */
import type { Client } from 'basic-ftp';
import { FtpConnection } from '../../../core/destinations/ftp/session';
import type { FtpContext } from '../../../core/destinations/ftp/context';

function fakeClient(reply: { code: number; message: string }) {
	const sent: string[] = [];
	const client = {
		sendIgnoringError: async (command: string) => {
			sent.push(command);
			return reply;
		},
	} as unknown as Client;
	return { client, sent };
}

const connection = () => new FtpConnection({ timeoutMs: 1000 } as unknown as FtpContext);

describe('FTP SITE CHMOD', () => {
	it('asks for 600 on files and 700 on folders', async () => {
		const { client, sent } = fakeClient({ code: 200, message: 'SITE CHMOD command ok.' });
		const ftp = connection();
		await ftp.makePrivate(client, '/home/u/env/set/a.dump');
		await ftp.makePrivate(client, '/home/u/env/set', '700');
		expect(sent).toEqual(['SITE CHMOD 600 /home/u/env/set/a.dump', 'SITE CHMOD 700 /home/u/env/set']);
		expect(ftp.chmodRefused).toBeUndefined();
	});

	it('a refusal does not fail, is remembered with the server answer, and is not asked again', async () => {
		const { client, sent } = fakeClient({ code: 500, message: 'Unknown SITE command.' });
		const ftp = connection();
		await expect(ftp.makePrivate(client, '/a.dump')).resolves.toBeUndefined();
		await ftp.makePrivate(client, '/b.dump');
		expect(sent).toEqual(['SITE CHMOD 600 /a.dump']);
		expect(ftp.chmodRefused).toBe('500 Unknown SITE command.');
	});

	it('a lost connection while asking does not fail either', async () => {
		const client = {
			sendIgnoringError: async () => {
				throw new Error('socket closed');
			},
		} as unknown as Client;
		await expect(connection().makePrivate(client, '/a.dump')).resolves.toBeUndefined();
	});
});
