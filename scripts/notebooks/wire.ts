/**
 * The Jupyter messaging protocol's wire format (v5.3): frames
 * [...identities, "<IDS|MSG>", hmac, header, parent_header, metadata, content, ...buffers],
 * signed with HMAC-SHA256 over the four JSON frames.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'crypto';

export const PROTOCOL_VERSION = '5.3';
const DELIMITER = Buffer.from('<IDS|MSG>');

export interface MessageHeader {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
}

export interface JupyterMessage<C = Record<string, unknown>> {
  header: MessageHeader;
  parent_header: Partial<MessageHeader>;
  metadata: Record<string, unknown>;
  content: C;
}

function sign(key: string, frames: readonly Buffer[]): string {
  const hmac = createHmac('sha256', key);
  for (const frame of frames) hmac.update(frame);
  return hmac.digest('hex');
}

export function newHeader(msgType: string, session: string): MessageHeader {
  return {
    msg_id: randomUUID(),
    msg_type: msgType,
    session,
    username: 'notebook-runner',
    date: new Date().toISOString(),
    version: PROTOCOL_VERSION,
  };
}

/** The frames of a message as a client sends them (no routing identities). */
export function encodeMessage(key: string, message: JupyterMessage<unknown>): Buffer[] {
  const body = [message.header, message.parent_header, message.metadata, message.content].map((part) =>
    Buffer.from(JSON.stringify(part)),
  );
  return [DELIMITER, Buffer.from(sign(key, body)), ...body];
}

function parseFrame(frame: Buffer, name: string): Record<string, unknown> {
  const value: unknown = JSON.parse(frame.toString('utf8'));
  if (typeof value !== 'object' || value === null) throw new Error(`Jupyter message: ${name} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** Decodes received frames; throws when the delimiter is missing or the signature does not match. */
export function decodeMessage(key: string, frames: readonly Buffer[]): JupyterMessage {
  const at = frames.findIndex((f) => f.equals(DELIMITER));
  if (at < 0 || frames.length < at + 6) throw new Error('Jupyter message: missing <IDS|MSG> delimiter or frames');
  const signature = frames[at + 1];
  const body = frames.slice(at + 2, at + 6);
  const expected = Buffer.from(sign(key, body));
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
    throw new Error('Jupyter message: HMAC signature does not match the connection key');
  }
  return {
    header: parseFrame(body[0], 'header') as unknown as MessageHeader,
    parent_header: parseFrame(body[1], 'parent_header') as Partial<MessageHeader>,
    metadata: parseFrame(body[2], 'metadata'),
    content: parseFrame(body[3], 'content'),
  };
}
