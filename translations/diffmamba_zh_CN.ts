<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>dm::gui::ExperimentForm</name>
    <message>
        <source>default: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>range: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>null allowed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mamba2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Diff-Mamba2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>default: the preset&apos;s name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>filter keys, e.g. lr or loader</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model family</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Find a key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Command line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run both (Mamba2 + Diff-Mamba2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Queue this experiment for both families with the same other settings and seed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save as preset…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset to preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>general</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save as preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preset name (saved as user/&lt;name&gt;):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preset not saved</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dm::gui::JobQueue</name>
    <message>
        <source>queued</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>running</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cancelled before it started</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>stopping at the next step…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>starting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>finished</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>failed: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dm::gui::MainWindow</name>
    <message>
        <source>Experiments</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Monitor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Results</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Runs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>saved preset %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Jobs are queued or running; switch workspaces when they are done.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot open the workspace %1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Diff-Mamba Studio — %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>workspace %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Welcome.&lt;/b&gt; This workspace is empty. &lt;b&gt;Quick comparison&lt;/b&gt; trains a tiny Mamba2 and Diff-Mamba2 on the built-in corpus, fine-tunes them on BABILong needles, evaluates them and trains tuned lenses, then shows every figure (about 10 minutes on 2 CPU cores).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run quick comparison</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Open or create workspace…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Workspace folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Workspace</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Recent workspaces</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Quick comparison</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;About</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About Diff-Mamba Studio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Diff-Mamba Studio %1
Train, evaluate and compare Mamba2 and Diff-Mamba2.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>settings saved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Jobs are running</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop the running jobs? They stop at the next step and keep their last checkpoint; queued jobs are dropped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopping jobs…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dm::gui::MonitorView</name>
    <message>
        <source>Runs (tick to show)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>wall time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>TensorBoard smoothing (the raw curve stays faint behind)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>log y</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Metric</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>x</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Smoothing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Drag to pan, wheel to zoom, double-click to fit.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dm::gui::QueueView</name>
    <message>
        <source>%1 h %2 min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 min %2 s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>job</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>title</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>state</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>tokens/s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>ETA</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>message</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Re-run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy command line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Clear finished</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How many jobs run at the same time (1 on a CPU: jobs share its cores)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Jobs at a time</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dm::gui::QuickComparison</name>
    <message>
        <source>quick %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>quick %1 needle</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>quick %1 babilong</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>quick %1 lens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>quick %1 lens eval</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quick comparison: %1 of %2 stages done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quick comparison finished</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quick comparison stopped: %1 %2 (%3)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dm::gui::ResultsView</name>
    <message>
        <source>BABILong accuracy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compare (model vs baseline)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ratio (model vs baseline)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tuned lens per layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Several runs (e.g. seeds) are averaged; the standard deviation shows on hover</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>± sd in cells</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>log y</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>lines instead of bars</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Draw</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export figure…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export all figures…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Figure</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model runs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Baseline runs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Diff-Mamba lens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mamba lens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No workspace is open.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pick a Diff-Mamba and a Mamba lens evaluation run.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select the model&apos;s BABILong evaluation run(s).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select the baseline&apos;s BABILong evaluation run(s).</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n sample(s) evaluated</source>
        <translation type="unfinished">
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Cannot create the folder %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export figure</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PDF (*.pdf);;PNG (*.png);;SVG (*.svg);;CSV (*.csv)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export all figures to</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n file(s) written to %1</source>
        <translation type="unfinished">
            <numerusform></numerusform>
        </translation>
    </message>
</context>
<context>
    <name>dm::gui::RunsBrowser</name>
    <message>
        <source>filter: text in any column, or key=value (e.g. model.family=diffmamba2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>any status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>queued</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>running</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>finished</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>id</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>family</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>created</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>config hash</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show in monitor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compare config with</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete run #%1 from the workspace database?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>also delete its folder (checkpoints, models)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(absent)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>run #%1 %2 — %3, %4, %5
</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>message: %1
</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>created %1, started %2, ended %3; host %4, device %5
folder: %6
</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>config differences from #%1 (%n key(s)):</source>
        <translation type="unfinished">
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>resolved config:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No workspace is open.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run #%1 does not exist.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run #%1 is running; cancel it first.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>dm::gui::SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>all cores</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>automatic (GPU when there is one)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CUDA GPU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no CUDA device is available to this build</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>system language</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>system</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>light</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>dark</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>LibTorch threads</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Jobs at a time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Language</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Theme</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Threads and language apply at the next start.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
