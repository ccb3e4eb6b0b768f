import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { AgentSessionEntity } from 'src/session-links/entities/agent-session.entity';
import { SessionHeaderInterceptor } from 'src/session-links/session-header.interceptor';
import { SessionLinks } from 'src/session-links/session-links.service';

/**
 * The bottom half of sessions: the entity and the lookup that jobs and sandboxes call when they admit
 * work. The top half (SessionsModule: open, view, end with cleanup, idle expiry) sits above jobs and
 * sandboxes and calls their services, so the module graph stays a DAG without forwardRef.
 */
@Module({
  imports: [TypeOrmModule.forFeature([AgentSessionEntity])],
  providers: [SessionLinks, SessionHeaderInterceptor, provideScopedRepository(AgentSessionEntity)],
  exports: [SessionLinks, SessionHeaderInterceptor],
})
export class SessionsCoreModule {}
