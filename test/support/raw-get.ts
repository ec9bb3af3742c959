import http from 'node:http';

export interface RawAnswer {
  status?: number;
  /** The whole body arrived (false when the server aborted the response). */
  complete: boolean;
  text: string;
}

/** GET over a real socket (not inject): `onFirstChunk` may pause the response to play a slow
 *  reader, or act while the server is mid-body. */
export function rawGet(
  url: string,
  onFirstChunk: (res: http.IncomingMessage) => void,
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (chunks.length === 1) onFirstChunk(res);
      });
      const done = () =>
        resolve({
          status: res.statusCode,
          complete: res.complete,
          text: Buffer.concat(chunks).toString('utf8'),
        });
      res.on('end', done);
      res.on('error', done);
      res.on('close', done);
    });
    request.on('error', () => resolve({ complete: false, text: '' }));
  });
}
