<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>FigureExport</name>
    <message>
        <source>Cannot create the folder %1</source>
        <translation>无法创建文件夹 %1</translation>
    </message>
    <message>
        <source>Wrote %1</source>
        <translation>已写入 %1</translation>
    </message>
    <message>
        <source>Wrote %1 and its numbers %2</source>
        <translation>已写入 %1 及其数据 %2</translation>
    </message>
    <message>
        <source>Export figure</source>
        <translation>导出图表</translation>
    </message>
    <message>
        <source>PDF (*.pdf);;PNG (*.png);;SVG (*.svg);;CSV (*.csv)</source>
        <translation>PDF (*.pdf);;PNG (*.png);;SVG (*.svg);;CSV (*.csv)</translation>
    </message>
</context>
<context>
    <name>dm::gui::AttentionView</name>
    <message>
        <source>Model A</source>
        <translation>模型 A</translation>
    </message>
    <message>
        <source>Model B</source>
        <translation>模型 B</translation>
    </message>
    <message>
        <source>Sample</source>
        <translation>样本</translation>
    </message>
    <message>
        <source>Block</source>
        <translation>块</translation>
    </message>
    <message>
        <source>Head</source>
        <translation>头</translation>
    </message>
    <message>
        <source>Map</source>
        <translation>映射</translation>
    </message>
    <message>
        <source>Colours</source>
        <translation>配色</translation>
    </message>
    <message>
        <source>Positions</source>
        <translation>位置</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <source>A workspace run with a model file, a demo model, or any model path (file, run folder, HF directory)</source>
        <translation>带模型文件的工作区运行、演示模型，或任意模型路径（文件、运行文件夹、HF 目录）</translation>
    </message>
    <message>
        <source> — leave empty to map one model</source>
        <translation> —— 留空则只映射一个模型</translation>
    </message>
    <message>
        <source>BABILong file</source>
        <translation>BABILong 文件</translation>
    </message>
    <message>
        <source>Generated bAbI sample</source>
        <translation>生成的 bAbI 样本</translation>
    </message>
    <message>
        <source>Text</source>
        <translation>文本</translation>
    </message>
    <message>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Record</source>
        <translation>记录</translation>
    </message>
    <message>
        <source>Task</source>
        <translation>任务</translation>
    </message>
    <message>
        <source>Length</source>
        <translation>长度</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>随机种子</translation>
    </message>
    <message>
        <source>Needle</source>
        <translation>关键事实 (needle)</translation>
    </message>
    <message>
        <source>Question</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>Compute the maps</source>
        <translation>计算注意力图</translation>
    </message>
    <message>
        <source>What the block applies (M₁ − λ·M₂)</source>
        <translation>块实际应用的映射（M₁ − λ·M₂）</translation>
    </message>
    <message>
        <source>Branch 1</source>
        <translation>分支 1</translation>
    </message>
    <message>
        <source>Branch 2</source>
        <translation>分支 2</translation>
    </message>
    <message>
        <source>Signed (blue – white – red)</source>
        <translation>带符号（蓝 – 白 – 红）</translation>
    </message>
    <message>
        <source>log10 |M|</source>
        <translation>对数刻度 log10 |M|</translation>
    </message>
    <message>
        <source>Zoom to the needle</source>
        <translation>缩放到 needle</translation>
    </message>
    <message>
        <source>Whole sample</source>
        <translation>整个样本</translation>
    </message>
    <message>
        <source>Export figure…</source>
        <translation>导出图表…</translation>
    </message>
    <message>
        <source>Model file</source>
        <translation>模型文件</translation>
    </message>
    <message>
        <source>Models (*.safetensors *.bin config.json);;All files (*)</source>
        <translation>模型 (*.safetensors *.bin config.json);;所有文件 (*)</translation>
    </message>
    <message>
        <source>BABILong (*.jsonl *.json)</source>
        <translation>BABILong (*.jsonl *.json)</translation>
    </message>
    <message>
        <source>demo: %1</source>
        <translation>演示：%1</translation>
    </message>
    <message>
        <source>demo: </source>
        <translation>演示：</translation>
    </message>
    <message>
        <source>Choose a model (A, and B to compare).</source>
        <translation>请选择模型（A；要比较时再选 B）。</translation>
    </message>
    <message>
        <source>Tracing the maps…</source>
        <translation>正在追踪注意力图…</translation>
    </message>
    <message>
        <source>%1: %2 tokens, needle %3 tokens (%4), question %5 tokens; traced in %6 s</source>
        <translation>%1：%2 个 token，needle %3 个 token（%4），问题 %5 个 token；追踪用时 %6 秒</translation>
    </message>
    <message>
        <source>This sample has no needle tokens to zoom to.</source>
        <translation>此样本没有可缩放到的 needle token。</translation>
    </message>
    <message>
        <source>%1 has no map at block %2</source>
        <translation>%1 在块 %2 没有注意力图</translation>
    </message>
    <message>
        <source>%1&apos;s block %2 has %3 heads</source>
        <translation>%1 的块 %2 只有 %3 个头</translation>
    </message>
    <message>
        <source>%1&apos;s block %2 is not differential: no branch maps</source>
        <translation>%1 的块 %2 不是差分块：没有分支映射</translation>
    </message>
    <message>
        <source>%1 · block %2 · head %3</source>
        <translation>%1 · 块 %2 · 头 %3</translation>
    </message>
    <message>
        <source>Needle SNR</source>
        <translation>Needle 信噪比</translation>
    </message>
    <message>
        <source>kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>λ</source>
        <translation>λ</translation>
    </message>
    <message>
        <source>needle mass</source>
        <translation>needle 质量</translation>
    </message>
    <message>
        <source>signal-to-noise</source>
        <translation>信噪比</translation>
    </message>
    <message>
        <source>entropy</source>
        <translation>熵</translation>
    </message>
    <message>
        <source>removed</source>
        <translation>抵消量</translation>
    </message>
    <message>
        <source>Compute the maps first.</source>
        <translation>请先计算注意力图。</translation>
    </message>
    <message>
        <source>Export failed</source>
        <translation>导出失败</translation>
    </message>
    <message>
        <source>qa1: one supporting fact</source>
        <translation>qa1：单一支持事实</translation>
    </message>
    <message>
        <source>qa2: two supporting facts</source>
        <translation>qa2：两个支持事实</translation>
    </message>
    <message>
        <source>qa3: three supporting facts</source>
        <translation>qa3：三个支持事实</translation>
    </message>
    <message>
        <source>qa4: two-argument relations</source>
        <translation>qa4：二元关系</translation>
    </message>
    <message>
        <source>qa5: three-argument relations</source>
        <translation>qa5：三元关系</translation>
    </message>
</context>
<context>
    <name>dm::gui::BenchmarksView</name>
    <message>
        <source>MAD scores (task × family)</source>
        <translation>MAD 得分（任务 × 模型系列）</translation>
    </message>
    <message>
        <source>Per-token loss over long contexts</source>
        <translation>长上下文逐 token 损失</translation>
    </message>
    <message>
        <source>Figure</source>
        <translation>图表</translation>
    </message>
    <message>
        <source>MAD sweep</source>
        <translation>MAD 扫描</translation>
    </message>
    <message>
        <source>Runs</source>
        <translation>运行</translation>
    </message>
    <message>
        <source>Training length</source>
        <translation>训练长度</translation>
    </message>
    <message>
        <source>Moving average</source>
        <translation>滑动平均</translation>
    </message>
    <message>
        <source>Benchmark profile</source>
        <translation>基准配置</translation>
    </message>
    <message>
        <source>MAD: the score runs drawn (one per family and sweep); per-token loss: the runs overlaid</source>
        <translation>MAD：绘制的得分运行（每个模型系列和扫描各一个）；逐 token 损失：叠加显示的运行</translation>
    </message>
    <message>
        <source> tokens</source>
        <translation> 个 token</translation>
    </message>
    <message>
        <source>no line</source>
        <translation>不画线</translation>
    </message>
    <message>
        <source> positions</source>
        <translation> 个位置</translation>
    </message>
    <message>
        <source>overall MAD score</source>
        <translation>总体 MAD 得分</translation>
    </message>
    <message>
        <source>Draw</source>
        <translation>绘制</translation>
    </message>
    <message>
        <source>Export figure…</source>
        <translation>导出图表…</translation>
    </message>
    <message>
        <source>The MAD benchmark trains every family on the six synthetic tasks over the lr × weight-decay grid as one sweep; its scores appear here when it finishes.</source>
        <translation>MAD 基准在六个合成任务上按学习率 × 权重衰减网格训练每个模型系列，作为一次扫描；完成后得分显示在这里。</translation>
    </message>
    <message>
        <source>Quick: width 32, baselines, minutes on a CPU</source>
        <translation>快速：宽度 32，仅基线设置，CPU 上数分钟</translation>
    </message>
    <message>
        <source>The seed&apos;s: width 1024, every setting, 200 epochs (a GPU)</source>
        <translation>原始设置：宽度 1024，全部设置，200 个 epoch（需 GPU）</translation>
    </message>
    <message>
        <source>Run the MAD benchmark</source>
        <translation>运行 MAD 基准</translation>
    </message>
    <message>
        <source>(runs selected below)</source>
        <translation>（下方选中的运行）</translation>
    </message>
    <message>
        <source>No workspace is open.</source>
        <translation>未打开工作区。</translation>
    </message>
    <message>
        <source>Pick a MAD sweep or its score runs (Run the MAD benchmark makes one).</source>
        <translation>请选择一个 MAD 扫描或其得分运行（“运行 MAD 基准”会生成一个）。</translation>
    </message>
    <message>
        <source>Select one or more per-token-loss runs (diffmamba per-token-loss makes them).</source>
        <translation>请选择一个或多个逐 token 损失运行（由 diffmamba per-token-loss 生成）。</translation>
    </message>
    <message>
        <source>Reading the numbers…</source>
        <translation>正在读取数据…</translation>
    </message>
    <message>
        <source>MAD score</source>
        <translation>MAD 得分</translation>
    </message>
    <message>
        <source>ppl, first %1 tokens</source>
        <translation>前 %1 个 token 的困惑度</translation>
    </message>
    <message>
        <source>mean loss %1 nats over %2 positions</source>
        <translation>%2 个位置上的平均损失 %1 nats</translation>
    </message>
    <message>
        <source>not run</source>
        <translation>未运行</translation>
    </message>
    <message>
        <source>The figure&apos;s numbers are not read yet: draw it first.</source>
        <translation>图的数据尚未读取：请先绘制。</translation>
    </message>
    <message>
        <source>Export failed</source>
        <translation>导出失败</translation>
    </message>
</context>
<context>
    <name>dm::gui::ExperimentForm</name>
    <message>
        <source>default: %1</source>
        <translation>默认值：%1</translation>
    </message>
    <message>
        <source>range: %1</source>
        <translation>范围：%1</translation>
    </message>
    <message>
        <source>null allowed</source>
        <translation>可为 null</translation>
    </message>
    <message>
        <source>default: the preset&apos;s name</source>
        <translation>默认：预设名称</translation>
    </message>
    <message>
        <source>filter keys, e.g. lr or loader</source>
        <translation>筛选键名，例如 lr 或 loader</translation>
    </message>
    <message>
        <source>Preset</source>
        <translation>预设</translation>
    </message>
    <message>
        <source>Model family</source>
        <translation>模型系列</translation>
    </message>
    <message>
        <source>Run name</source>
        <translation>运行名称</translation>
    </message>
    <message>
        <source>Find a key</source>
        <translation>查找键</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <source>Command line</source>
        <translation>命令行</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <source>Save as preset…</source>
        <translation>另存为预设…</translation>
    </message>
    <message>
        <source>Reset to preset</source>
        <translation>重置为预设</translation>
    </message>
    <message>
        <source>general</source>
        <translation>通用</translation>
    </message>
    <message>
        <source>Save as preset</source>
        <translation>另存为预设</translation>
    </message>
    <message>
        <source>Preset name (saved as user/&lt;name&gt;):</source>
        <translation>预设名称（保存为 user/&lt;名称&gt;）：</translation>
    </message>
    <message>
        <source>Preset not saved</source>
        <translation>预设未保存</translation>
    </message>
    <message>
        <source>trainer.devices and trainer.accelerator decide it: several devices train as several data-parallel processes (PyTorch c10d), which the window starts as child processes</source>
        <translation>由 trainer.devices 和 trainer.accelerator 决定：多个设备以多个数据并行进程训练（PyTorch c10d），由窗口作为子进程启动</translation>
    </message>
    <message>
        <source>Runs as %1 data-parallel processes (one per device), started by the window as child processes</source>
        <translation>以 %1 个数据并行进程运行（每个设备一个），由窗口作为子进程启动</translation>
    </message>
    <message>
        <source>Runs as 1 process, inside the window</source>
        <translation>以 1 个进程在窗口内运行</translation>
    </message>
    <message>
        <source>dataset</source>
        <translation>数据集</translation>
    </message>
    <message>
        <source>loader</source>
        <translation>数据加载</translation>
    </message>
    <message>
        <source>model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>optimizer</source>
        <translation>优化器</translation>
    </message>
    <message>
        <source>scheduler</source>
        <translation>学习率调度</translation>
    </message>
    <message>
        <source>task</source>
        <translation>任务</translation>
    </message>
    <message>
        <source>train</source>
        <translation>训练</translation>
    </message>
    <message>
        <source>trainer</source>
        <translation>训练器</translation>
    </message>
    <message>
        <source>Set to compare:</source>
        <translation>对比集合：</translation>
    </message>
    <message>
        <source>Queue this experiment once for each ticked family, with the same other settings and seed</source>
        <translation>为每个勾选的模型家族各排队一次此实验，其余设置和随机种子相同</translation>
    </message>
    <message>
        <source>Run this set (%1)</source>
        <translation>运行此集合（%1）</translation>
    </message>
    <message>
        <source>Sweep…</source>
        <translation>扫描…</translation>
    </message>
    <message>
        <source>Queue a grid of runs of these settings (e.g. learning rate × weight decay) as one sweep</source>
        <translation>将这些设置的一组网格运行（例如学习率 × 权重衰减）作为一次扫描排队</translation>
    </message>
</context>
<context>
    <name>dm::gui::JobQueue</name>
    <message>
        <source>queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <source>running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <source>done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>cancelled before it started</source>
        <translation>开始前已取消</translation>
    </message>
    <message>
        <source>stopping at the next step…</source>
        <translation>将在下一步停止…</translation>
    </message>
    <message>
        <source>starting</source>
        <translation>正在启动</translation>
    </message>
    <message>
        <source>finished</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>failed: %1</source>
        <translation>失败：%1</translation>
    </message>
</context>
<context>
    <name>dm::gui::MainWindow</name>
    <message>
        <source>Experiments</source>
        <translation>实验</translation>
    </message>
    <message>
        <source>Queue</source>
        <translation>队列</translation>
    </message>
    <message>
        <source>Monitor</source>
        <translation>监控</translation>
    </message>
    <message>
        <source>Results</source>
        <translation>结果</translation>
    </message>
    <message>
        <source>Runs</source>
        <translation>运行记录</translation>
    </message>
    <message>
        <source>Log</source>
        <translation>日志</translation>
    </message>
    <message>
        <source>saved preset %1</source>
        <translation>已保存预设 %1</translation>
    </message>
    <message>
        <source>Jobs are queued or running; switch workspaces when they are done.</source>
        <translation>有任务正在排队或运行；请等它们结束后再切换工作区。</translation>
    </message>
    <message>
        <source>Cannot open the workspace %1: %2</source>
        <translation>无法打开工作区 %1：%2</translation>
    </message>
    <message>
        <source>Diff-Mamba Studio — %1</source>
        <translation>Diff-Mamba Studio — %1</translation>
    </message>
    <message>
        <source>workspace %1</source>
        <translation>工作区 %1</translation>
    </message>
    <message>
        <source>Run quick comparison</source>
        <translation>运行快速对比</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Open or create workspace…</source>
        <translation>打开或新建工作区(&amp;O)…</translation>
    </message>
    <message>
        <source>Workspace folder</source>
        <translation>工作区文件夹</translation>
    </message>
    <message>
        <source>Workspace</source>
        <translation>工作区</translation>
    </message>
    <message>
        <source>&amp;Recent workspaces</source>
        <translation>最近的工作区(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation>设置(&amp;S)…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;About</source>
        <translation>关于(&amp;A)</translation>
    </message>
    <message>
        <source>About Diff-Mamba Studio</source>
        <translation>关于 Diff-Mamba Studio</translation>
    </message>
    <message>
        <source>Diff-Mamba Studio %1
Train, evaluate and compare Mamba2 and Diff-Mamba2.</source>
        <translation>Diff-Mamba Studio %1
训练、评估并比较 Mamba2 与 Diff-Mamba2。</translation>
    </message>
    <message>
        <source>settings saved</source>
        <translation>设置已保存</translation>
    </message>
    <message>
        <source>Jobs are running</source>
        <translation>有任务正在运行</translation>
    </message>
    <message>
        <source>Stop the running jobs? They stop at the next step and keep their last checkpoint; queued jobs are dropped.</source>
        <translation>要停止正在运行的任务吗？它们会在下一步停止并保留最后一个检查点；排队中的任务将被丢弃。</translation>
    </message>
    <message>
        <source>Stopping jobs…</source>
        <translation>正在停止任务…</translation>
    </message>
    <message>
        <source>Quick &amp;comparison</source>
        <translation>快速对比(&amp;C)</translation>
    </message>
    <message>
        <source>&lt;b&gt;Welcome.&lt;/b&gt; This workspace is empty. &lt;b&gt;Quick comparison&lt;/b&gt; trains a tiny Mamba2 and Diff-Mamba2 on the built-in corpus, fine-tunes them on BABILong needles, evaluates them and trains tuned lenses, then shows every figure (about 3 minutes on 2 CPU cores). It is a demonstration of the workflow: %1 questions per task and length, tiny models, not the paper&apos;s numbers.</source>
        <translation>&lt;b&gt;欢迎！&lt;/b&gt;此工作区为空。&lt;b&gt;快速对比&lt;/b&gt;会在内置语料上训练小型 Mamba2 和 Diff-Mamba2，在 BABILong needle 数据上微调并评估，再训练 tuned lens，最后显示全部图表（在 2 个 CPU 核心上约需 3 分钟）。这只是演示工作流程：每个任务和长度 %1 个问题、模型很小，并非论文中的结果。</translation>
    </message>
    <message>
        <source>run %1 crashed: %2</source>
        <translation>运行 %1 已崩溃：%2</translation>
    </message>
    <message>
        <source>this workspace is read-only: its runs can be browsed, compared and plotted, but no job can write to it</source>
        <translation>此工作区为只读：可以浏览、比较和绘制其中的运行，但任何任务都不能写入</translation>
    </message>
    <message>
        <source>Diff-Mamba Studio — no workspace open</source>
        <translation>Diff-Mamba Studio — 未打开工作区</translation>
    </message>
    <message>
        <source>Diff-Mamba Studio — %1 (read-only)</source>
        <translation>Diff-Mamba Studio — %1（只读）</translation>
    </message>
    <message>
        <source>Open another folder…</source>
        <translation>打开其他文件夹…</translation>
    </message>
    <message>
        <source>Create a new workspace…</source>
        <translation>新建工作区…</translation>
    </message>
    <message>
        <source>Continue without</source>
        <translation>不打开工作区继续</translation>
    </message>
    <message>
        <source>Folder to create the workspace in</source>
        <translation>新建工作区所在的文件夹</translation>
    </message>
    <message>
        <source>No workspace is open, so this job has nowhere to write. Open or create one.</source>
        <translation>未打开工作区，此任务无处写入。请打开或新建一个工作区。</translation>
    </message>
    <message>
        <source>The workspace %1 is read-only: its runs can be browsed, but jobs need a workspace they can write. Open or create another.</source>
        <translation>工作区 %1 为只读：可以浏览其中的运行，但任务需要可写的工作区。请打开或新建另一个工作区。</translation>
    </message>
    <message>
        <source>The run database %1 is damaged (%2). It is left as it is. SQLite can still read it, so a copy of it can be opened read-only.</source>
        <translation>运行数据库 %1 已损坏（%2）。它保持原样不动。SQLite 仍能读取它，因此可以以只读方式打开它的副本。</translation>
    </message>
    <message>
        <source>Cannot open the workspace %1: %2 cannot be read (%3). It is left as it is.</source>
        <translation>无法打开工作区 %1：无法读取 %2（%3）。它保持原样不动。</translation>
    </message>
    <message>
        <source>No damaged run database to copy.</source>
        <translation>没有可复制的损坏运行数据库。</translation>
    </message>
    <message>
        <source>Cannot copy %1 to %2</source>
        <translation>无法将 %1 复制到 %2</translation>
    </message>
    <message>
        <source>The copy %1 of the damaged database cannot be opened either: %2</source>
        <translation>损坏数据库的副本 %1 也无法打开：%2</translation>
    </message>
    <message>
        <source>Diff-Mamba Studio — %1 (read-only copy of its damaged database)</source>
        <translation>Diff-Mamba Studio — %1（其损坏数据库的只读副本）</translation>
    </message>
    <message>
        <source>the run database %1 is damaged: browsing a read-only copy, %2; the original is left as it is</source>
        <translation>运行数据库 %1 已损坏：正在浏览只读副本 %2；原文件保持不动</translation>
    </message>
    <message>
        <source>Open a read-only copy</source>
        <translation>打开只读副本</translation>
    </message>
    <message>
        <source>with the ablation (Diff-Mamba2E, Diff-S6-Mamba2: twice as long)</source>
        <translation>包含消融实验（Diff-Mamba2E、Diff-S6-Mamba2：耗时约两倍）</translation>
    </message>
    <message>
        <source>Quick comparison with the &amp;ablation</source>
        <translation>含消融实验的快速对比(&amp;A)</translation>
    </message>
    <message>
        <source>Benchmarks</source>
        <translation>基准</translation>
    </message>
    <message>
        <source>the sweep could not be recorded: %1</source>
        <translation>无法记录扫描：%1</translation>
    </message>
    <message numerus="yes">
        <source>sweep %1: %n run(s) queued</source>
        <translation>
            <numerusform>扫描 %1：已排队 %n 个运行</numerusform>
        </translation>
    </message>
    <message>
        <source>Attention</source>
        <translation>注意力</translation>
    </message>
</context>
<context>
    <name>dm::gui::MonitorView</name>
    <message>
        <source>Runs (tick to show)</source>
        <translation>运行（勾选以显示）</translation>
    </message>
    <message>
        <source>step</source>
        <translation>步数</translation>
    </message>
    <message>
        <source>wall time</source>
        <translation>实际耗时</translation>
    </message>
    <message>
        <source>TensorBoard smoothing (the raw curve stays faint behind)</source>
        <translation>TensorBoard 式平滑（原始曲线以淡色保留在后面）</translation>
    </message>
    <message>
        <source>log y</source>
        <translation>对数 y 轴</translation>
    </message>
    <message>
        <source>Metric</source>
        <translation>指标</translation>
    </message>
    <message>
        <source>x</source>
        <translation>x 轴</translation>
    </message>
    <message>
        <source>Smoothing</source>
        <translation>平滑</translation>
    </message>
    <message>
        <source>CSV…</source>
        <translation>CSV…</translation>
    </message>
    <message>
        <source>Save every point of the shown curves (raw and smoothed) as CSV</source>
        <translation>将所显示曲线的每个点（原始值与平滑值）保存为 CSV</translation>
    </message>
    <message>
        <source>Image…</source>
        <translation>图像…</translation>
    </message>
    <message>
        <source>Hover for the values at a step; drag to pan, wheel to zoom, double-click to fit.</source>
        <translation>悬停查看某一步的数值；拖动平移，滚轮缩放，双击适配。</translation>
    </message>
    <message>
        <source>Save curves as CSV</source>
        <translation>将曲线保存为 CSV</translation>
    </message>
    <message>
        <source>CSV (*.csv)</source>
        <translation>CSV (*.csv)</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <source>Wrote %1</source>
        <translation>已写入 %1</translation>
    </message>
    <message>
        <source>Images (*.png *.pdf *.svg)</source>
        <translation>图像 (*.png *.pdf *.svg)</translation>
    </message>
    <message>
        <source>, %1 s</source>
        <translation>，%1 秒</translation>
    </message>
    <message>
        <source> (smoothed %1)</source>
        <translation>（平滑 %1）</translation>
    </message>
    <message>
        <source>No curves are shown.</source>
        <translation>没有显示任何曲线。</translation>
    </message>
    <message>
        <source>No workspace is open.</source>
        <translation>未打开工作区。</translation>
    </message>
    <message>
        <source>No training runs yet.
Start one on the Experiments page, or run the Quick comparison (File menu).</source>
        <translation>还没有训练运行。
请在“实验”页开始一个，或运行快速对比（文件菜单）。</translation>
    </message>
    <message>
        <source>Tick runs on the left to see their curves.</source>
        <translation>勾选左侧的运行以查看其曲线。</translation>
    </message>
    <message>
        <source>The ticked runs have recorded no %1 yet.</source>
        <translation>勾选的运行尚未记录 %1。</translation>
    </message>
    <message>
        <source>metrics</source>
        <translation>指标</translation>
    </message>
    <message>
        <source>Loading the curves…</source>
        <translation>正在读取曲线…</translation>
    </message>
    <message>
        <source>Could not read the curves: %1</source>
        <translation>无法读取曲线：%1</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>步数</translation>
    </message>
    <message>
        <source>Wall time [s]</source>
        <translation>耗时 [秒]</translation>
    </message>
    <message>
        <source>Wall time [h:mm:ss]</source>
        <translation>耗时 [时:分:秒]</translation>
    </message>
    <message>
        <source>More plots</source>
        <translation>更多图表</translation>
    </message>
    <message>
        <source>Show more metrics at once, one plot each</source>
        <translation>同时显示更多指标，每个指标一张图</translation>
    </message>
    <message>
        <source>Save the plots as shown (PNG, PDF or SVG)</source>
        <translation>按当前显示保存图表（PNG、PDF 或 SVG）</translation>
    </message>
    <message>
        <source>Save the plots</source>
        <translation>保存图表</translation>
    </message>
    <message>
        <source>Tick runs first: their metrics are offered here</source>
        <translation>请先勾选运行：它们的指标会列在这里</translation>
    </message>
    <message>
        <source>Cannot write %1</source>
        <translation>无法写入 %1</translation>
    </message>
    <message>
        <source>Unknown image format &quot;%1&quot;: use .png, .pdf or .svg</source>
        <translation>未知的图像格式“%1”：请使用 .png、.pdf 或 .svg</translation>
    </message>
    <message>
        <source>Show a sweep&apos;s runs…</source>
        <translation>显示某次扫描的运行…</translation>
    </message>
    <message>
        <source>Tick exactly the runs of one sweep (a grid queued together), to compare them</source>
        <translation>只勾选某次扫描（一起排队的网格）的运行，以便比较</translation>
    </message>
    <message>
        <source>each run</source>
        <translation>每个运行</translation>
    </message>
    <message>
        <source>seeds: mean ± sd</source>
        <translation>随机种子：均值 ± 标准差</translation>
    </message>
    <message>
        <source>seeds: mean, min–max</source>
        <translation>随机种子：均值，最小–最大</translation>
    </message>
    <message>
        <source>Runs whose settings differ only in the seed as one mean curve with a band (steps every seed reached)</source>
        <translation>仅随机种子不同的运行合并为一条均值曲线并带误差带（所有种子都到达的步数）</translation>
    </message>
</context>
<context>
    <name>dm::gui::QueueView</name>
    <message>
        <source>%1 h %2 min</source>
        <translation>%1 小时 %2 分</translation>
    </message>
    <message>
        <source>%1 min %2 s</source>
        <translation>%1 分 %2 秒</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 秒</translation>
    </message>
    <message>
        <source>job</source>
        <translation>任务</translation>
    </message>
    <message>
        <source>title</source>
        <translation>标题</translation>
    </message>
    <message>
        <source>state</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>progress</source>
        <translation>进度</translation>
    </message>
    <message>
        <source>step</source>
        <translation>步数</translation>
    </message>
    <message>
        <source>tokens/s</source>
        <translation>tokens/秒</translation>
    </message>
    <message>
        <source>ETA</source>
        <translation>ETA</translation>
    </message>
    <message>
        <source>run</source>
        <translation>运行</translation>
    </message>
    <message>
        <source>message</source>
        <translation>消息</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Re-run</source>
        <translation>重新运行</translation>
    </message>
    <message>
        <source>Copy command line</source>
        <translation>复制命令行</translation>
    </message>
    <message>
        <source>Clear finished</source>
        <translation>清除已结束</translation>
    </message>
    <message>
        <source>How many jobs run at the same time (1 on a CPU: jobs share its cores)</source>
        <translation>同时运行的任务数（使用 CPU 时设为 1：各任务共享 CPU 核心）</translation>
    </message>
    <message>
        <source>Jobs at a time</source>
        <translation>并行任务数</translation>
    </message>
</context>
<context>
    <name>dm::gui::QuickComparison</name>
    <message>
        <source>Quick comparison: %1 of %2 stages done</source>
        <translation>快速对比：已完成 %1/%2 个阶段</translation>
    </message>
    <message>
        <source>Quick comparison finished</source>
        <translation>快速对比已完成</translation>
    </message>
    <message>
        <source>Quick comparison stopped: %1 %2 (%3)</source>
        <translation>快速对比已中止：%1 %2（%3）</translation>
    </message>
</context>
<context>
    <name>dm::gui::ResultsView</name>
    <message>
        <source>BABILong accuracy</source>
        <translation>BABILong 准确率</translation>
    </message>
    <message>
        <source>Compare (model vs baseline)</source>
        <translation>对比（模型 vs 基线）</translation>
    </message>
    <message>
        <source>Ratio (model vs baseline)</source>
        <translation>比值（模型 / 基线）</translation>
    </message>
    <message>
        <source>Tuned lens per layer</source>
        <translation>逐层 tuned lens</translation>
    </message>
    <message>
        <source>Several runs (e.g. seeds) are averaged; the standard deviation shows on hover</source>
        <translation>多个运行（如不同随机种子）取平均；鼠标悬停显示标准差</translation>
    </message>
    <message>
        <source>± sd in cells</source>
        <translation>单元格内显示 ± 标准差</translation>
    </message>
    <message>
        <source>log y</source>
        <translation>对数 y 轴</translation>
    </message>
    <message>
        <source>lines instead of bars</source>
        <translation>用折线代替柱状图</translation>
    </message>
    <message>
        <source>Draw</source>
        <translation>绘制</translation>
    </message>
    <message>
        <source>Export figure…</source>
        <translation>导出图表…</translation>
    </message>
    <message>
        <source>Export all figures…</source>
        <translation>导出全部图表…</translation>
    </message>
    <message>
        <source>Figure</source>
        <translation>图表</translation>
    </message>
    <message>
        <source>Model runs</source>
        <translation>模型运行</translation>
    </message>
    <message>
        <source>Baseline runs</source>
        <translation>基线运行</translation>
    </message>
    <message>
        <source>Diff-Mamba lens</source>
        <translation>Diff-Mamba 透镜</translation>
    </message>
    <message>
        <source>Mamba lens</source>
        <translation>Mamba 透镜</translation>
    </message>
    <message>
        <source>No workspace is open.</source>
        <translation>未打开工作区。</translation>
    </message>
    <message>
        <source>Pick a Diff-Mamba and a Mamba lens evaluation run.</source>
        <translation>请各选择一个 Diff-Mamba 和 Mamba 的 lens 评估运行。</translation>
    </message>
    <message>
        <source>Select the model&apos;s BABILong evaluation run(s).</source>
        <translation>请选择模型的 BABILong 评估运行。</translation>
    </message>
    <message>
        <source>Select the baseline&apos;s BABILong evaluation run(s).</source>
        <translation>请选择基线的 BABILong 评估运行。</translation>
    </message>
    <message numerus="yes">
        <source>%n sample(s) evaluated</source>
        <translation>
            <numerusform>已评估 %n 个样本</numerusform>
        </translation>
    </message>
    <message>
        <source>Cannot create the folder %1</source>
        <translation>无法创建文件夹 %1</translation>
    </message>
    <message>
        <source>Export failed</source>
        <translation>导出失败</translation>
    </message>
    <message>
        <source>Export all figures to</source>
        <translation>将全部图表导出到</translation>
    </message>
    <message numerus="yes">
        <source>%n file(s) written to %1</source>
        <translation>
            <numerusform>已将 %n 个文件写入 %1</numerusform>
        </translation>
    </message>
    <message>
        <source> in</source>
        <translation> 英寸</translation>
    </message>
    <message>
        <source>default</source>
        <translation>默认</translation>
    </message>
    <message>
        <source> dpi</source>
        <translation> dpi</translation>
    </message>
    <message>
        <source>Export size</source>
        <translation>导出尺寸</translation>
    </message>
    <message>
        <source>Colour-blind safe (viridis, blue / orange)</source>
        <translation>色盲友好（viridis，蓝 / 橙）</translation>
    </message>
    <message>
        <source>Seed&apos;s red / green</source>
        <translation>原始脚本的红 / 绿</translation>
    </message>
    <message>
        <source>Colours</source>
        <translation>配色</translation>
    </message>
    <message>
        <source>BABILong accuracy: %1</source>
        <translation>BABILong 准确率：%1</translation>
    </message>
    <message>
        <source>%1 vs %2: BABILong accuracy</source>
        <translation>%1 对比 %2：BABILong 准确率</translation>
    </message>
    <message>
        <source>%1 vs %2: BABILong accuracy ratio</source>
        <translation>%1 对比 %2：BABILong 准确率之比</translation>
    </message>
    <message>
        <source>Reading the numbers…</source>
        <translation>正在读取数据…</translation>
    </message>
    <message>
        <source>The figure&apos;s numbers are not read yet: draw it first.</source>
        <translation>图的数据尚未读取：请先绘制。</translation>
    </message>
    <message>
        <source>95 % intervals of the difference (bootstrap)</source>
        <translation>差值的 95% 区间（bootstrap）</translation>
    </message>
    <message>
        <source>Compare and ratio: a paired bootstrap over the samples both sides answered (seeds, then samples, with several runs each, paired in list order); cells whose interval excludes 0 are marked</source>
        <translation>对比和比值：对双方都回答过的样本做配对 bootstrap（每方有多个运行时先抽随机种子再抽样本，按列表顺序配对）；区间不含 0 的单元格会被标出</translation>
    </message>
    <message>
        <source>No intervals: %1</source>
        <translation>无区间：%1</translation>
    </message>
</context>
<context>
    <name>dm::gui::RunsBrowser</name>
    <message>
        <source>any status</source>
        <translation>任意状态</translation>
    </message>
    <message>
        <source>queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <source>running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <source>finished</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>id</source>
        <translation>ID</translation>
    </message>
    <message>
        <source>name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>family</source>
        <translation>系列</translation>
    </message>
    <message>
        <source>preset</source>
        <translation>预设</translation>
    </message>
    <message>
        <source>status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>created</source>
        <translation>创建时间</translation>
    </message>
    <message>
        <source>config hash</source>
        <translation>配置哈希</translation>
    </message>
    <message>
        <source>Show in monitor</source>
        <translation>在监控中显示</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>恢复运行</translation>
    </message>
    <message>
        <source>Open folder</source>
        <translation>打开文件夹</translation>
    </message>
    <message>
        <source>Delete…</source>
        <translation>删除…</translation>
    </message>
    <message>
        <source>Compare config with</source>
        <translation>配置对比基准</translation>
    </message>
    <message>
        <source>Delete run</source>
        <translation>删除运行</translation>
    </message>
    <message>
        <source>Delete run #%1 from the workspace database?</source>
        <translation>要从工作区数据库中删除运行 #%1 吗？</translation>
    </message>
    <message>
        <source>also delete its folder (checkpoints, models)</source>
        <translation>同时删除其文件夹（检查点、模型）</translation>
    </message>
    <message>
        <source>Delete failed</source>
        <translation>删除失败</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <source>(absent)</source>
        <translation>（缺失）</translation>
    </message>
    <message>
        <source>run #%1 %2 — %3, %4, %5
</source>
        <translation>运行 #%1 %2 — %3，%4，%5
</translation>
    </message>
    <message>
        <source>message: %1
</source>
        <translation>消息：%1
</translation>
    </message>
    <message>
        <source>created %1, started %2, ended %3; host %4, device %5
folder: %6
</source>
        <translation>创建于 %1，开始于 %2，结束于 %3；主机 %4，设备 %5
文件夹：%6
</translation>
    </message>
    <message numerus="yes">
        <source>config differences from #%1 (%n key(s)):</source>
        <translation>
            <numerusform>与 #%1 的配置差异（%n 个键）：</numerusform>
        </translation>
    </message>
    <message>
        <source>resolved config:</source>
        <translation>解析后的配置：</translation>
    </message>
    <message>
        <source>No workspace is open.</source>
        <translation>未打开工作区。</translation>
    </message>
    <message>
        <source>Run #%1 does not exist.</source>
        <translation>运行 #%1 不存在。</translation>
    </message>
    <message>
        <source>Run #%1 is running; cancel it first.</source>
        <translation>运行 #%1 正在运行中；请先取消它。</translation>
    </message>
    <message>
        <source>show archived</source>
        <translation>显示已归档</translation>
    </message>
    <message>
        <source>Archive / unarchive</source>
        <translation>归档 / 取消归档</translation>
    </message>
    <message>
        <source>Archived runs keep everything but are hidden from the lists unless &quot;show archived&quot; is on</source>
        <translation>已归档的运行保留全部内容，但除非勾选“显示已归档”，否则不在列表中显示</translation>
    </message>
    <message>
        <source>crashed</source>
        <translation>已崩溃</translation>
    </message>
    <message>
        <source>diverged</source>
        <translation>已发散</translation>
    </message>
    <message>
        <source>filter: words, or key=value, key!=v, key&lt;n, key&gt;=n, key~text (e.g. model.family=diffmamba2 d_model&gt;32 val/bpc&lt;1.5)</source>
        <translation>筛选：文字，或 key=value、key!=v、key&lt;n、key&gt;=n、key~text（例如 model.family=diffmamba2 d_model&gt;32 val/bpc&lt;1.5）</translation>
    </message>
    <message>
        <source>No run matches. Filter syntax: %1</source>
        <translation>没有匹配的运行。筛选语法：%1</translation>
    </message>
    <message>
        <source>No run matches: no run has %1. Filter syntax: %2</source>
        <translation>没有匹配的运行：没有运行具有 %1。筛选语法：%2</translation>
    </message>
    <message>
        <source>Metric columns, comma-separated: a metric name with :last, :best, :min or :max (e.g. val/bpc:best), babilong (mean BABILong accuracy) or lens (lens probability at the last layer)</source>
        <translation>指标列，以逗号分隔：指标名加 :last、:best、:min 或 :max（例如 val/bpc:best），babilong（BABILong 平均准确率）或 lens（最后一层的透镜概率）</translation>
    </message>
    <message>
        <source>Columns</source>
        <translation>列</translation>
    </message>
    <message>
        <source>BABILong mean %</source>
        <translation>BABILong 平均 %</translation>
    </message>
    <message>
        <source>lens p, last layer</source>
        <translation>透镜概率（最后一层）</translation>
    </message>
    <message>
        <source>last</source>
        <translation>最终</translation>
    </message>
    <message>
        <source>best</source>
        <translation>最佳</translation>
    </message>
    <message>
        <source>Archive</source>
        <translation>归档</translation>
    </message>
    <message>
        <source>Runs</source>
        <translation>运行记录</translation>
    </message>
    <message>
        <source>Could not read the runs: %1</source>
        <translation>无法读取运行：%1</translation>
    </message>
    <message>
        <source>Some numbers could not be read: %1</source>
        <translation>部分数据无法读取：%1</translation>
    </message>
    <message>
        <source>The workspace is read-only.</source>
        <translation>该工作区为只读。</translation>
    </message>
    <message>
        <source>any sweep</source>
        <translation>任意扫描</translation>
    </message>
    <message>
        <source>Only the runs of one sweep (a grid of runs queued together)</source>
        <translation>只显示某次扫描（一起排队的一组运行）的运行</translation>
    </message>
    <message>
        <source>sweep</source>
        <translation>扫描</translation>
    </message>
</context>
<context>
    <name>dm::gui::SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>all cores</source>
        <translation>全部核心</translation>
    </message>
    <message>
        <source>automatic (GPU when there is one)</source>
        <translation>自动（有 GPU 时使用 GPU）</translation>
    </message>
    <message>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <source>CUDA GPU</source>
        <translation>CUDA GPU</translation>
    </message>
    <message>
        <source>system language</source>
        <translation>系统语言</translation>
    </message>
    <message>
        <source>system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>light</source>
        <translation>浅色</translation>
    </message>
    <message>
        <source>dark</source>
        <translation>深色</translation>
    </message>
    <message>
        <source>LibTorch threads</source>
        <translation>LibTorch 线程数</translation>
    </message>
    <message>
        <source>Jobs at a time</source>
        <translation>并行任务数</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>Theme</source>
        <translation>主题</translation>
    </message>
    <message>
        <source>LibTorch threads apply at the next start; the rest at once.</source>
        <translation>LibTorch 线程数在下次启动时生效；其余设置立即生效。</translation>
    </message>
    <message>
        <source>GPU %1</source>
        <translation>GPU %1 号</translation>
    </message>
    <message>
        <source>GPU %1: %2 (%3 GiB)</source>
        <translation>GPU %1 号：%2（%3 GiB）</translation>
    </message>
    <message>
        <source>no CUDA device can be used: %1</source>
        <translation>没有可用的 CUDA 设备：%1</translation>
    </message>
    <message>
        <source>Where training, fine-tuning, evaluation and the lens run (automatic: the GPU when there is one, else the CPU with a warning)</source>
        <translation>训练、微调、评估和透镜分析在何处运行（自动：有 GPU 时用 GPU，否则用 CPU 并给出警告）</translation>
    </message>
</context>
<context>
    <name>dm::gui::SweepDialog</name>
    <message>
        <source>Sweep</source>
        <translation>扫描</translation>
    </message>
    <message>
        <source>Queue one run per combination of the values below, all grouped under one sweep record. Each row is an axis: a configuration key and its values, separated by commas.</source>
        <translation>为下方取值的每个组合排队一个运行，全部归入同一条扫描记录。每一行是一个轴：一个配置键及其取值，用逗号分隔。</translation>
    </message>
    <message>
        <source>Base job</source>
        <translation>基础任务</translation>
    </message>
    <message>
        <source>Sweep name</source>
        <translation>扫描名称</translation>
    </message>
    <message>
        <source>default: the preset and the axes</source>
        <translation>默认：预设名与各轴</translation>
    </message>
    <message>
        <source>Key</source>
        <translation>键</translation>
    </message>
    <message>
        <source>Values</source>
        <translation>取值</translation>
    </message>
    <message>
        <source>Add axis</source>
        <translation>添加轴</translation>
    </message>
    <message>
        <source>Remove axis</source>
        <translation>删除轴</translation>
    </message>
    <message>
        <source>Axis %1 has values but no key.</source>
        <translation>轴 %1 有取值但没有键。</translation>
    </message>
    <message>
        <source>Axis %1: &quot;%2&quot; is not a configuration key (nearest: %3).</source>
        <translation>轴 %1：“%2”不是配置键（最接近的：%3）。</translation>
    </message>
    <message>
        <source>Axis %1 (%2) has no values.</source>
        <translation>轴 %1（%2）没有取值。</translation>
    </message>
    <message>
        <source>Combination %1: %2</source>
        <translation>组合 %1：%2</translation>
    </message>
    <message numerus="yes">
        <source>%n run(s) in sweep &quot;%1&quot;</source>
        <translation>
            <numerusform>扫描“%1”中有 %n 个运行</numerusform>
        </translation>
    </message>
    <message>
        <source>Queue</source>
        <translation>排队</translation>
    </message>
    <message numerus="yes">
        <source>Queue %n run(s)</source>
        <translation>
            <numerusform>排队 %n 个运行</numerusform>
        </translation>
    </message>
</context>
</TS>
