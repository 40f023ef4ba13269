// A stand-in for the EC2 instance metadata service with IMDSv2 only: a
// session token from PUT /latest/api/token, then GET /latest/meta-data/<key>
// with that token, and 401 without it (as an instance with
// http_tokens = "required" answers). Run as a program inside the broker's
// network namespace:
//   node imds.js <host> <port> '<json: {"instance-id": "...", "local-ipv4": "..."}>'
// It prints one line per request ("GET instance-id 200") so that tests can
// see the token flow was used.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

export function serveImds(host: string, port: number, metadata: Record<string, string>): void {
  const tokens = new Set<string>();
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    const answer = (status: number, body = '') => {
      process.stdout.write(`${req.method} ${url} ${status}\n`);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
    };
    if (req.method === 'PUT' && url === '/latest/api/token') {
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!(ttl >= 1 && ttl <= 21600)) return answer(400, 'missing or bad X-aws-ec2-metadata-token-ttl-seconds');
      const token = randomBytes(24).toString('base64url');
      tokens.add(token);
      return answer(200, token);
    }
    if (req.method !== 'GET' || !url.startsWith('/latest/meta-data/')) return answer(404);
    if (!tokens.has(String(req.headers['x-aws-ec2-metadata-token'] ?? ''))) return answer(401);
    const value = metadata[url.slice('/latest/meta-data/'.length)];
    return value === undefined ? answer(404) : answer(200, value);
  });
  server.listen(port, host, () => process.stdout.write(`listening ${host}:${port}\n`));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [host, port, json] = process.argv.slice(2);
  serveImds(host!, Number(port), JSON.parse(json!) as Record<string, string>);
}
