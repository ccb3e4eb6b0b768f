import { Module } from '@nestjs/common';
import { HealthController } from 'src/health/health.controller';
import { HealthService } from 'src/health/health.service';
import { LoopHoldMonitor } from 'src/health/loop-hold.monitor';
import { RuntimeModule } from 'src/runtime/runtime.module';

@Module({ imports: [RuntimeModule], controllers: [HealthController], providers: [HealthService, LoopHoldMonitor], exports: [HealthService] })
export class HealthModule {}
