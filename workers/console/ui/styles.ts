/**
 * The console's one stylesheet, served as a same-origin file
 * (`/assets/console.css`) so the CSP can say `style-src 'self'` with no
 * inline styles. Colour tokens are chosen for text contrast of at least
 * 4.5:1 on their background in both schemes (most pairs exceed 7:1); the
 * scheme follows `prefers-color-scheme`. Type scale: 0.875 / 1 / 1.25 /
 * 1.6 / 2 rem. Focus is always a visible 3 px ring.
 */
export const CONSOLE_CSS = `
:root{color-scheme:light dark;
--bg:#f6f6f7;--surface:#fff;--text:#18181b;--muted:#52525b;--border:#c4c4cc;
--accent:#1e40af;--accent-hover:#1e3a8a;--on-accent:#fff;--focus:#1d4ed8;
--danger:#991b1b;--danger-bg:#fef2f2;--ok:#166534;--ok-bg:#f0fdf4;--warn:#713f12;--warn-bg:#fefce8;
--code-bg:#f1f1f4;--radius:8px;
--c0:#1d4ed8;--c1:#b45309;--c2:#047857;--c3:#b91c1c;--c4:#7c3aed;--c5:#0e7490;--grid:#d4d4d8;--font:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
@media (prefers-color-scheme:dark){:root{
--bg:#101217;--surface:#191c23;--text:#f2f2f4;--muted:#b4b4bd;--border:#474b57;
--accent:#9bb8ff;--accent-hover:#bcd0ff;--on-accent:#0b1020;--focus:#c7d7ff;
--danger:#fca5a5;--danger-bg:#2c1417;--ok:#86efac;--ok-bg:#10261a;--warn:#fcd34d;--warn-bg:#2b2410;
--code-bg:#232733;
--c0:#93b4ff;--c1:#fbbf24;--c2:#6ee7b7;--c3:#fca5a5;--c4:#c4b5fd;--c5:#67e8f9;--grid:#3a3e4a}}
*{box-sizing:border-box}
html{font:16px/1.55 var(--font);background:var(--bg);color:var(--text)}
body{margin:0;min-height:100vh;display:flex;flex-direction:column}
a{color:var(--accent);text-underline-offset:2px}a:hover{color:var(--accent-hover)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px;border-radius:4px}
.skip{position:absolute;left:-999px;top:0;background:var(--surface);padding:.5rem 1rem}
.skip:focus{left:1rem;top:1rem;z-index:10}
header.top{display:flex;align-items:center;gap:1.5rem;flex-wrap:wrap;padding:.75rem 1.5rem;
border-bottom:1px solid var(--border);background:var(--surface)}
.brand{display:flex;align-items:center;gap:.5rem;color:var(--text);text-decoration:none;font-weight:700;font-size:1.25rem}
.brand svg{width:28px;height:28px}
nav.main{display:flex;gap:1rem;flex-wrap:wrap;flex:1}
nav.main a{text-decoration:none;color:var(--muted);font-weight:600;padding:.25rem 0}
nav.main a[aria-current=page]{color:var(--text);border-bottom:2px solid var(--accent)}
header.top form{margin:0}
main{width:100%;max-width:52rem;margin:0 auto;padding:2rem 1.5rem;flex:1}
main.narrow{max-width:28rem}main.wide{max-width:72rem}
.grid{display:grid;gap:0 1.5rem;grid-template-columns:repeat(auto-fit,minmax(min(24rem,100%),1fr))}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:0}dl.facts dt{color:var(--muted);font-weight:600}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.filters{display:flex;gap:.75rem;flex-wrap:wrap;align-items:flex-end}form.filters{margin:0 0 1.5rem}.filters label{margin:0 0 .25rem}
.filters>div{flex:1;min-width:10rem}.filters button{margin-bottom:1px}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;border:1px solid var(--border);font-size:.8125rem;font-weight:600}
.badge.ok{color:var(--ok);border-color:var(--ok);background:var(--ok-bg)}
.badge.bad{color:var(--danger);border-color:var(--danger);background:var(--danger-bg)}
.badge.warn{color:var(--warn);border-color:var(--warn);background:var(--warn-bg)}
.scroll{overflow-x:auto}td code{overflow-wrap:anywhere}td.nowrap{white-space:nowrap}td .actions{margin-top:0}td form{margin:0}
h1{font-size:2rem;line-height:1.2;margin:0 0 1rem}h2{font-size:1.25rem;margin:2rem 0 .75rem}
p{margin:0 0 1rem}.muted{color:var(--muted);font-size:.875rem}
.card{background:var(--surface);border:1px solid var(--border);border-radius:var(--radius);padding:1.5rem;margin:0 0 1.5rem}
.card>h2:first-child{margin-top:0}
form+p{margin-top:1.5rem}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
.hint{display:block;color:var(--muted);font-size:.875rem;font-weight:400;margin:.125rem 0 .25rem}
input[type=email],input[type=password],input[type=text],input[type=date],input[type=search],select,textarea{width:100%;font:inherit;color:var(--text);
background:var(--surface);padding:.55rem .65rem;border:1px solid var(--muted);border-radius:6px}
fieldset{border:1px solid var(--border);border-radius:6px;margin:1rem 0 0;padding:.5rem 1rem 1rem}
legend{font-weight:600;padding:0 .25rem}
.check{display:flex;gap:.5rem;align-items:baseline;font-weight:400;margin:.5rem 0 0}
.actions{display:flex;gap:.75rem;flex-wrap:wrap;align-items:center;margin-top:1.5rem}
button,.button{display:inline-block;font:inherit;font-weight:600;padding:.55rem 1.1rem;border-radius:6px;cursor:pointer;
border:1px solid var(--accent);background:var(--accent);color:var(--on-accent);text-decoration:none}
button:hover,.button:hover{background:var(--accent-hover);color:var(--on-accent)}
button.secondary,.button.secondary{background:transparent;color:var(--accent)}
button.secondary:hover,.button.secondary:hover{background:var(--code-bg);color:var(--accent-hover)}
button.danger{background:transparent;color:var(--danger);border-color:var(--danger)}
button.link{background:none;border:0;padding:0;color:var(--muted);font-weight:600}
button.link:hover{color:var(--text);background:none}
.alert{border:1px solid var(--danger);background:var(--danger-bg);color:var(--danger);padding:.65rem .9rem;border-radius:6px;margin:0 0 1rem}
.notice{border:1px solid var(--ok);background:var(--ok-bg);color:var(--ok);padding:.65rem .9rem;border-radius:6px;margin:0 0 1rem}
.banner{border:1px solid var(--warn);background:var(--warn-bg);color:var(--warn);padding:.65rem .9rem;border-radius:6px;margin:0 0 1.5rem}
.upload-progress{margin:1rem 0 0}.upload-progress progress{display:block;width:100%;height:.75rem;margin:0 0 .25rem;appearance:none;border:1px solid var(--muted);
border-radius:999px;overflow:hidden;background:var(--code-bg)}
.upload-progress progress::-webkit-progress-bar{background:var(--code-bg)}
.upload-progress progress::-webkit-progress-value{background:var(--accent)}.upload-progress progress::-moz-progress-bar{background:var(--accent)}
button:disabled{opacity:.6;cursor:progress}
.upload-progress p{margin:0}
.banner form{display:inline;margin:0}.banner button{padding:.2rem .6rem;font-size:.875rem;margin-left:.5rem}
code,pre{font-family:var(--mono);font-size:.875rem;background:var(--code-bg);border-radius:4px}
code{padding:.1rem .3rem}
pre{padding:.75rem 1rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all;margin:0}
.copyable{position:relative;margin:.5rem 0 1rem}
.copyable button{margin-top:.5rem;font-size:.875rem;padding:.3rem .8rem}
table{width:100%;border-collapse:collapse;font-size:.875rem;margin:0 0 1.5rem}
th,td{text-align:left;padding:.5rem .5rem;border-bottom:1px solid var(--border);vertical-align:top}
th{color:var(--muted);font-weight:600}
.status{display:flex;gap:.6rem;align-items:center;font-weight:600;padding:.75rem 1rem;border-radius:6px;
border:1px dashed var(--muted)}
.status.connected{border:1px solid var(--ok);background:var(--ok-bg);color:var(--ok)}
.hero{padding:2rem 0}.hero p{font-size:1.25rem;color:var(--muted);max-width:36rem}
.features{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));padding:0;list-style:none}
.features li{background:var(--surface);border:1px solid var(--border);border-radius:var(--radius);padding:1rem}
.stats{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));margin:0 0 1.5rem;padding:0;list-style:none}
.stats li{background:var(--surface);border:1px solid var(--border);border-radius:var(--radius);padding:1rem}
.stats .figure{display:block;font-size:1.6rem;font-weight:700;line-height:1.2}
.stats .label{display:block;color:var(--muted);font-size:.875rem;font-weight:600}
meter{width:100%;height:.75rem;margin-top:.5rem}
.warn{color:var(--warn);font-weight:600}
figure.chart{margin:0 0 2rem;background:var(--surface);border:1px solid var(--border);border-radius:var(--radius);padding:1rem}
figure.chart figcaption{font-weight:700;margin:0 0 .5rem}
figure.chart svg{width:100%;height:auto;display:block}
.chart .axis line{stroke:var(--grid);stroke-width:1}.chart .axis text{fill:var(--muted);font-size:11px;font-family:var(--font)}
.chart rect.c0,.swatch.c0{fill:var(--c0);background:var(--c0)}.chart rect.c1,.swatch.c1{fill:var(--c1);background:var(--c1)}
.chart rect.c2,.swatch.c2{fill:var(--c2);background:var(--c2)}.chart rect.c3,.swatch.c3{fill:var(--c3);background:var(--c3)}
.chart rect.c4,.swatch.c4{fill:var(--c4);background:var(--c4)}.chart rect.c5,.swatch.c5{fill:var(--c5);background:var(--c5)}
.chart .line polyline{fill:none;stroke-width:2}.chart .line.c0 polyline{stroke:var(--c0)}.chart .line.c1 polyline{stroke:var(--c1)}
.chart .line.c0 circle{fill:var(--c0)}.chart .line.c1 circle{fill:var(--c1)}
.legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;padding:0;margin:.5rem 0 0;font-size:.875rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.35rem;vertical-align:-1px}
.chart-table summary{cursor:pointer;font-weight:600;font-size:.875rem;margin-top:.5rem}
.chart-table table{margin-top:.5rem}caption{text-align:left;color:var(--muted);font-size:.875rem;padding:.25rem 0}
.plans{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr))}
.plans .card{margin:0}.plans .current{border:2px solid var(--accent)}.plans h3{margin:0 0 .75rem}
.plans dl.facts{grid-template-columns:1fr;gap:0}.plans dl.facts dd{margin:0 0 .5rem}.plans+p{margin-top:1rem}
input[type=file]{font:inherit;margin:.25rem 0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:0 0 1rem}dl.facts dt{color:var(--muted);font-weight:600}dl.facts dd{margin:0}
textarea{font-family:var(--mono);font-size:.875rem;resize:vertical}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
nav.tabs{display:flex;gap:1.25rem;border-bottom:1px solid var(--border);margin:0 0 1.25rem}
nav.tabs a{text-decoration:none;color:var(--muted);font-weight:600;padding:.4rem 0}
nav.tabs a[aria-current=page]{color:var(--text);border-bottom:2px solid var(--accent)}
nav.tabs.secondary{border:0;font-size:.875rem}
.filters .wide-field{flex:3;min-width:14rem}.memory-filters>div{min-width:8.5rem}.memory-filters input,.memory-filters select{height:2.75rem}
ul.memories,ol.memories{list-style:none;padding:0;margin:0 0 1rem}
.memories li{display:flex;gap:.75rem;align-items:flex-start;background:var(--surface);border:1px solid var(--border);
border-radius:var(--radius);padding:.9rem 1rem;margin:0 0 .6rem}
.memories li>div{flex:1;min-width:0}.memories input[type=checkbox]{margin-top:.35rem;width:1.1rem;height:1.1rem}
.memories li.fresh{border-color:var(--ok)}
.memory-title{font-weight:700}.excerpt{margin:.25rem 0;overflow-wrap:anywhere}
.memories p.muted{margin:0}.memories form{margin-top:.5rem}
.why{margin-top:.5rem;font-size:.875rem}.why summary{cursor:pointer;font-weight:600;color:var(--accent)}
.why dl.facts{margin:.5rem 0 0}
pre.content{margin:0 0 1rem;word-break:normal;overflow-wrap:anywhere}
ol.history{padding-left:1.25rem}ol.history li{margin:0 0 1rem}
.bulk fieldset{margin:0 0 1rem}.bulk .filters{margin:0}
footer{padding:1.5rem;text-align:center;color:var(--muted);font-size:.875rem}
@media (max-width:40rem){main{padding:1.25rem 1rem}h1{font-size:1.6rem}}
`;
