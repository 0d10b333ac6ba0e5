/**
 * Draws a machine definition as SVG (layout from statechart-model.ts): one box per top-level
 * state, regions and child states listed inside, arrows between states labelled with their events,
 * and the active state (and active children) highlighted. Works offline: nothing but the JSON
 * from /v3/statecharts and the current state value.
 */
import { useMemo } from 'preact/hooks';
import { activePaths, chartModel } from './statechart-model.ts';

interface Props {
  definition: unknown;
  value: unknown;
  title: string;
}

export function StatechartView({ definition, value, title }: Props) {
  const model = useMemo(() => chartModel(definition), [definition]);
  const active = useMemo(() => activePaths(value), [value]);

  return (
    <figure class="statechart" data-chart={model.id}>
      <figcaption>
        {title} <span class="muted">({model.id})</span>
      </figcaption>
      <div class="statechart-scroll">
        <svg
          width={model.width}
          height={model.height}
          viewBox={`0 0 ${model.width} ${model.height}`}
          role="img"
          aria-label={`${title} statechart, current state ${[...active].filter((p) => !p.includes('.')).join(', ') || 'unknown'}`}
        >
          <defs>
            <marker id={`arrow-${model.id}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0,0 L10,5 L0,10 z" class="arrowhead" />
            </marker>
          </defs>
          {model.edges.map((e) => {
            return (
              <g class={`edge edge-${e.route}${active.has(e.from) ? ' edge-from-active' : ''}`} key={`${e.from}-${e.to}`}>
                <title>{`${e.from} → ${e.to}: ${e.events.join(', ')}`}</title>
                <path d={e.d} marker-end={`url(#arrow-${model.id})`} />
                <text x={e.label.x} y={e.label.y} text-anchor={e.label.anchor}>
                  {e.label.text}
                </text>
              </g>
            );
          })}
          {model.nodes.map((n) => {
            const isActive = active.has(n.key);
            return (
              <g class={`state state-${n.type}${isActive ? ' active' : ''}`} key={n.key} data-state={n.key} data-active={isActive ? 'true' : 'false'}>
                <title>{n.description ?? n.key}</title>
                <rect x={n.x} y={n.y} width={n.width} height={n.height} rx="8" ry="8" />
                {n.key === model.initial && <circle cx={n.x + n.width / 2} cy={n.y - 7} r="4" class="initial-dot" />}
                <text x={n.x + 10} y={n.y + 22} class="state-name">
                  {n.key}
                </text>
                {n.type === 'final' && <text x={n.x + n.width - 12} y={n.y + 22} text-anchor="end" class="muted">final</text>}
                {n.type === 'parallel'
                  ? n.children.map((region, i) => (
                      <text x={n.x + 10} y={n.y + 34 + 13 + i * 17} class="child-row" key={region.key}>
                        <tspan class="region-name">{region.key}: </tspan>
                        {region.children.map((child, j) => {
                          const on = active.has(`${n.key}.${region.key}.${child}`);
                          return (
                            <tspan class={on ? 'child active-child' : 'child'} key={child}>
                              {j > 0 ? ' · ' : ''}
                              {child}
                            </tspan>
                          );
                        })}
                      </text>
                    ))
                  : n.children.length > 0 && (
                      <text x={n.x + 10} y={n.y + 34 + 13} class="child-row">
                        {n.children.map((child, j) => (
                          <tspan class={active.has(`${n.key}.${child.key}`) ? 'child active-child' : 'child'} key={child.key}>
                            {j > 0 ? ' · ' : ''}
                            {child.key}
                          </tspan>
                        ))}
                      </text>
                    )}
              </g>
            );
          })}
        </svg>
      </div>
      {model.anyState.length > 0 && (
        <p class="any-state muted">
          from any state: {model.anyState.map((t) => `${t.event} → ${t.to}`).join(' · ')}
        </p>
      )}
    </figure>
  );
}
