/**
 * The FTP destination's last-resort watchdog: an operation on which neither connection moves a
 * byte for three timeouts fails with TIMEOUT instead of hanging the workflow. A client whose
 * command never settles stands in for a server stuck in a state basic-ftp does not time out.
 */
import { FtpDestination } from '../../../core/destinations';
import { BackupError } from '../../../core/errors';

/** The destination's control connection, where a stuck client is put in place of a real one. */
const connectionOf = (destination: FtpDestination) => (destination as unknown as { connection: object }).connection;

function destinationWithStuckClient(timeoutMs: number) {
	const destination = new FtpDestination({
		type: 'ftp',
		host: '127.0.0.1',
		port: 2121,
		username: 'u',
		password: 'secret-pw',
		tls: 'none',
		timeoutMs,
	});
	const stuckClient = { closed: false, cd: () => new Promise(() => undefined), close: () => undefined, ftp: {} };
	Object.assign(connectionOf(destination), { connect: async () => stuckClient });
	return { destination };
}

it('fails a silent operation with TIMEOUT after three timeouts, naming the server and not the password', async () => {
	const { destination } = destinationWithStuckClient(100);
	const error = await destination.list('prod').then(
		() => undefined,
		(reason: unknown) => reason,
	);
	expect(error).toBeInstanceOf(BackupError);
	expect((error as BackupError).code).toBe('TIMEOUT');
	expect((error as BackupError).message).toContain('ftp://u@127.0.0.1:2121');
	expect((error as BackupError).message).not.toContain('secret-pw');
});

it('lets the next operation run after a stalled one (the queue is not stuck)', async () => {
	const { destination } = destinationWithStuckClient(100);
	await expect(destination.list('a')).rejects.toMatchObject({ code: 'TIMEOUT' });
	await expect(destination.list('b')).rejects.toMatchObject({ code: 'TIMEOUT' });
});

it('reports TIMEOUT, not the vaguer error the closed connection gives the stuck command', async () => {
	const destination = new FtpDestination({
		type: 'ftp',
		host: '127.0.0.1',
		port: 2121,
		username: 'u',
		password: 'secret-pw',
		tls: 'none',
		timeoutMs: 100,
	});
	let fail: (error: Error) => void = () => undefined;
	const client = {
		closed: false,
		cd: () => new Promise((_resolve, reject) => (fail = reject)),
		close: () => fail(new Error('User closed client during task')),
		ftp: {},
	};
	Object.assign(connectionOf(destination), { connect: async () => client, client });
	await expect(destination.list('prod')).rejects.toMatchObject({ code: 'TIMEOUT' });
});

it('keeps a specific finding the operation makes once its connection is closed (an upload finding a full disk)', async () => {
	const destination = new FtpDestination({
		type: 'ftp',
		host: '127.0.0.1',
		port: 2121,
		username: 'u',
		password: 'secret-pw',
		tls: 'none',
		timeoutMs: 100,
	});
	let fail: (error: Error) => void = () => undefined;
	const client = {
		closed: false,
		cd: () => new Promise((_resolve, reject) => (fail = reject)),
		close: () =>
			setTimeout(
				() => fail(new BackupError('DISK_FULL', "The FTP server's disk is full", 'Free space on the server.')),
				20,
			),
		ftp: {},
	};
	Object.assign(connectionOf(destination), { connect: async () => client, client });
	await expect(destination.list('prod')).rejects.toMatchObject({ code: 'DISK_FULL' });
});
