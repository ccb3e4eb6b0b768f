/** Agent sessions: what a client (an agent run, a CI pipeline) opened, and why one ended. */
export const SESSION_STATUSES = ['open', 'ended'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** `ended`: closed by a client; `idle`: no request carried it for its idle timeout. */
export const SESSION_END_REASONS = ['ended', 'idle'] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/** Agent types are free-form labels (claude-code, ci, custom, ...), kept short and machine-friendly. */
export const AGENT_TYPE_PATTERN = /^[a-z0-9][a-z0-9._-]{0,31}$/;

export const DEFAULT_SESSION_IDLE_SECONDS = 1_800;
export const MIN_SESSION_IDLE_SECONDS = 60;
export const MAX_SESSION_IDLE_SECONDS = 86_400;

/** The request header that ties a request to a session (the body field `session_id` wins on creates). */
export const SESSION_HEADER = 'x-orcaops-session';
