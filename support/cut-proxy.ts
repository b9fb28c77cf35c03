/**
 * A loopback TCP proxy that drops the connection after N bytes, to test what happens when an
 * upload is cut at a given byte. Counts client -> server bytes across all connections since it
 * was armed; at the limit it destroys every open socket on both sides (like a network drop)
 * and disarms, so the retry goes through.
 *
 * FTP mode: data connections are separate TCP connections to the server's passive ports, so the
 * proxy rewrites the server's 229 (EPSV) and 227 (PASV) replies on plain FTP control
 * connections to point at a proxied data port of its own. (On FTPS the control channel is
 * encrypted; there only the control connection can be cut.)
 */
import net from 'node:net';

export interface CutProxy {
	port: number;
	/** Cut everything once `bytes` more client -> server bytes have passed. */
	arm(bytes: number): void;
	disarm(): void;
	/** How many times it has cut. */
	cuts: number;
	/** Client -> server bytes since the last arm(). */
	bytesSinceArm: number;
	stop(): Promise<void>;
}

export async function startCutProxy(targetPort: number, { ftp = false }: { ftp?: boolean } = {}): Promise<CutProxy> {
	const sockets = new Set<net.Socket>();
	const servers = new Set<net.Server>();
	let limit: number | undefined;

	const state: CutProxy = {
		port: 0,
		cuts: 0,
		bytesSinceArm: 0,
		arm(bytes) {
			limit = bytes;
			state.bytesSinceArm = 0;
		},
		disarm() {
			limit = undefined;
		},
		async stop() {
			for (const socket of sockets) socket.destroy();
			await Promise.all([...servers].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
		},
	};

	const cutAll = () => {
		limit = undefined;
		state.cuts++;
		for (const socket of sockets) socket.destroy();
	};

	const track = (socket: net.Socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
		socket.on('error', () => undefined);
	};

	/** Forwards one client connection to `port`; `rewrite` edits server -> client text (FTP control). */
	const forward = (client: net.Socket, port: number, rewrite?: (text: string) => Promise<string>) => {
		const upstream = net.connect(port, '127.0.0.1');
		track(client);
		track(upstream);
		client.on('data', (chunk: Buffer) => {
			if (limit !== undefined && state.bytesSinceArm + chunk.length >= limit) {
				// Pass the bytes up to the limit, then drop everything.
				const allowed = limit - state.bytesSinceArm;
				state.bytesSinceArm = limit;
				if (allowed > 0) upstream.write(chunk.subarray(0, allowed), () => cutAll());
				else cutAll();
				return;
			}
			state.bytesSinceArm += chunk.length;
			if (!upstream.write(chunk)) {
				client.pause();
				upstream.once('drain', () => client.resume());
			}
		});
		if (rewrite) {
			let pending = '';
			let queue = Promise.resolve();
			upstream.on('data', (chunk: Buffer) => {
				pending += chunk.toString('latin1');
				const end = pending.lastIndexOf('\n');
				if (end < 0) return;
				const lines = pending.slice(0, end + 1);
				pending = pending.slice(end + 1);
				queue = queue.then(async () => {
					client.write(Buffer.from(await rewrite(lines), 'latin1'));
				});
			});
		} else {
			upstream.on('data', (chunk: Buffer) => {
				if (!client.write(chunk)) {
					upstream.pause();
					client.once('drain', () => upstream.resume());
				}
			});
		}
		client.on('end', () => upstream.end());
		upstream.on('end', () => client.end());
		client.on('close', () => upstream.destroy());
		upstream.on('close', () => client.destroy());
	};

	/** Opens a one-shot proxied listener to a server data port; returns its own port. */
	const dataProxy = async (serverPort: number): Promise<number> => {
		const server = net.createServer((client) => {
			server.close();
			forward(client, serverPort);
		});
		servers.add(server);
		server.on('close', () => servers.delete(server));
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		return (server.address() as net.AddressInfo).port;
	};

	const rewriteFtp = async (text: string): Promise<string> => {
		let out = text;
		const epsv = /229 ([^\r\n]*)\(\|\|\|(\d+)\|\)/.exec(out);
		if (epsv) out = out.replace(`|||${epsv[2]}|`, `|||${await dataProxy(Number(epsv[2]))}|`);
		const pasv = /227 [^\r\n]*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(out);
		if (pasv) {
			const port = await dataProxy(Number(pasv[5]) * 256 + Number(pasv[6]));
			out = out.replace(pasv[0].slice(pasv[0].indexOf('(')), `(127,0,0,1,${port >> 8},${port & 255})`);
		}
		return out;
	};

	const main = net.createServer((client) => forward(client, targetPort, ftp ? rewriteFtp : undefined));
	servers.add(main);
	await new Promise<void>((resolve) => main.listen(0, '127.0.0.1', resolve));
	state.port = (main.address() as net.AddressInfo).port;
	return state;
}
