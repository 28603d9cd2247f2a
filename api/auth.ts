import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors.ts';

/** Server-to-server routes need `Authorization: Bearer <OCART_API_KEY>`, compared in constant time. */
export function requireApiKey(apiKey: string) {
  const wanted = Buffer.from(apiKey);
  return async (request: FastifyRequest) => {
    const header = request.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      throw new DomainError('unauthorized', 'a valid API key is required (Authorization: Bearer ...)');
    }
  };
}
