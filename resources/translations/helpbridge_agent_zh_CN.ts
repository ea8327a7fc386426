<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AdminPage</name>
    <message>
        <source>Agents</source>
        <translation>客服</translation>
    </message>
    <message>
        <source>Groups</source>
        <translation>小组</translation>
    </message>
    <message>
        <source>Audit log</source>
        <translation>审计日志</translation>
    </message>
    <message>
        <source>Quality review</source>
        <translation>质检</translation>
    </message>
</context>
<context>
    <name>AgentDialog</name>
    <message>
        <source>New agent</source>
        <translation>新建客服</translation>
    </message>
    <message>
        <source>Edit agent</source>
        <translation>编辑客服</translation>
    </message>
    <message>
        <source>Default</source>
        <translation>默认</translation>
    </message>
    <message>
        <source>E-mail</source>
        <translation>邮箱</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>角色</translation>
    </message>
    <message>
        <source>Groups</source>
        <translation>小组</translation>
    </message>
    <message>
        <source>Chats at once</source>
        <translation>同时会话数</translation>
    </message>
</context>
<context>
    <name>AgentText</name>
    <message>
        <source>New</source>
        <translation>新建</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>处理中</translation>
    </message>
    <message>
        <source>Pending customer</source>
        <translation>等待客户</translation>
    </message>
    <message>
        <source>Resolved</source>
        <translation>已解决</translation>
    </message>
    <message>
        <source>Closed</source>
        <translation>已关闭</translation>
    </message>
    <message>
        <source>P1 Critical</source>
        <translation>P1 紧急</translation>
    </message>
    <message>
        <source>P2 High</source>
        <translation>P2 高</translation>
    </message>
    <message>
        <source>P3 Medium</source>
        <translation>P3 中</translation>
    </message>
    <message>
        <source>P4 Low</source>
        <translation>P4 低</translation>
    </message>
    <message>
        <source>P5 Planning</source>
        <translation>P5 计划</translation>
    </message>
    <message>
        <source>Standard</source>
        <translation>普通</translation>
    </message>
    <message>
        <source>VIP</source>
        <translation>VIP</translation>
    </message>
    <message>
        <source>SVIP</source>
        <translation>SVIP</translation>
    </message>
    <message>
        <source>Online</source>
        <translation>在线</translation>
    </message>
    <message>
        <source>Away</source>
        <translation>离开</translation>
    </message>
    <message>
        <source>Offline</source>
        <translation>离线</translation>
    </message>
    <message>
        <source>With the bot</source>
        <translation>机器人接待中</translation>
    </message>
    <message>
        <source>Waiting</source>
        <translation>等待中</translation>
    </message>
    <message>
        <source>In progress</source>
        <translation>进行中</translation>
    </message>
    <message>
        <source>Agent</source>
        <translation>客服</translation>
    </message>
    <message>
        <source>Supervisor</source>
        <translation>主管</translation>
    </message>
    <message>
        <source>Administrator</source>
        <translation>管理员</translation>
    </message>
    <message>
        <source>%1 d %2 h</source>
        <translation>%1 天 %2 小时</translation>
    </message>
    <message>
        <source>%1 h %2 min</source>
        <translation>%1 小时 %2 分钟</translation>
    </message>
    <message>
        <source>%1 min</source>
        <translation>%1 分钟</translation>
    </message>
    <message>
        <source>Breached</source>
        <translation>已超时</translation>
    </message>
    <message>
        <source>%1 late</source>
        <translation>已超时 %1</translation>
    </message>
    <message>
        <source>Breached · %1 left</source>
        <translation>已超时 · 剩余 %1</translation>
    </message>
    <message>
        <source>%1 left</source>
        <translation>剩余 %1</translation>
    </message>
    <message>
        <source>First response due %1</source>
        <translation>首次响应期限 %1</translation>
    </message>
    <message>
        <source>Resolution due %1</source>
        <translation>解决期限 %1</translation>
    </message>
    <message>
        <source>just now</source>
        <translation>刚刚</translation>
    </message>
    <message>
        <source>%1 min ago</source>
        <translation>%1 分钟前</translation>
    </message>
    <message>
        <source>%1 h ago</source>
        <translation>%1 小时前</translation>
    </message>
    <message>
        <source>%1 bytes</source>
        <translation>%1 字节</translation>
    </message>
    <message>
        <source>%1 KB</source>
        <translation>%1 KB</translation>
    </message>
    <message>
        <source>%1 MB</source>
        <translation>%1 MB</translation>
    </message>
    <message>
        <source>The help service cannot be reached. Check the network or the address.</source>
        <translation>无法连接帮助服务。请检查网络或服务地址。</translation>
    </message>
    <message>
        <source>The e-mail address or the password is wrong.</source>
        <translation>邮箱或密码错误。</translation>
    </message>
    <message>
        <source>This agent account is disabled. Ask an administrator to enable it.</source>
        <translation>此客服账号已被停用。请联系管理员启用。</translation>
    </message>
    <message>
        <source>The help service sent an answer the console does not understand.</source>
        <translation>帮助服务返回了控制台无法识别的响应。</translation>
    </message>
    <message>
        <source>This console cannot work with the service at this address. Update the console or check the address.</source>
        <translation>此控制台无法与该地址的服务配合使用。请更新控制台或检查地址。</translation>
    </message>
    <message>
        <source>Please sign in.</source>
        <translation>请登录。</translation>
    </message>
    <message>
        <source>Your session is no longer valid. Please sign in again.</source>
        <translation>会话已失效，请重新登录。</translation>
    </message>
    <message>
        <source>Your session has expired. Please sign in again.</source>
        <translation>会话已过期，请重新登录。</translation>
    </message>
    <message>
        <source>You were signed out. Please sign in again.</source>
        <translation>您已退出登录，请重新登录。</translation>
    </message>
    <message>
        <source>Your role does not allow this.</source>
        <translation>您的角色无权执行此操作。</translation>
    </message>
    <message>
        <source>It no longer exists on the service.</source>
        <translation>该内容在服务上已不存在。</translation>
    </message>
    <message>
        <source>This cannot be done in the current state (for example, a closed ticket).</source>
        <translation>当前状态下无法执行此操作（例如工单已关闭）。</translation>
    </message>
    <message>
        <source>The service could not accept this request.</source>
        <translation>服务无法接受此请求。</translation>
    </message>
    <message>
        <source>The file is too large.</source>
        <translation>文件过大。</translation>
    </message>
    <message>
        <source>The file could not be read or written on this computer.</source>
        <translation>无法在本机读取或写入该文件。</translation>
    </message>
    <message>
        <source>Too many requests. Wait a moment and try again.</source>
        <translation>请求过于频繁，请稍后再试。</translation>
    </message>
    <message>
        <source>The help service had a problem. Try again later.</source>
        <translation>帮助服务出现问题，请稍后再试。</translation>
    </message>
    <message>
        <source>Something went wrong. Please try again.</source>
        <translation>出现错误，请重试。</translation>
    </message>
</context>
<context>
    <name>AgentsPanel</name>
    <message>
        <source>New agent…</source>
        <translation>新建客服…</translation>
    </message>
    <message>
        <source>Edit…</source>
        <translation>编辑…</translation>
    </message>
    <message>
        <source>Permissions…</source>
        <translation>权限…</translation>
    </message>
    <message>
        <source>Disable</source>
        <translation>停用</translation>
    </message>
    <message>
        <source>Force sign-out</source>
        <translation>强制下线</translation>
    </message>
    <message>
        <source>Reset password</source>
        <translation>重置密码</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <source>E-mail</source>
        <translation>邮箱</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>角色</translation>
    </message>
    <message>
        <source>Groups</source>
        <translation>小组</translation>
    </message>
    <message>
        <source>Active</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Chat cap</source>
        <translation>会话上限</translation>
    </message>
    <message>
        <source>default (%1)</source>
        <translation>默认（%1）</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>启用</translation>
    </message>
    <message>
        <source>disabled</source>
        <translation>已停用</translation>
    </message>
    <message>
        <source>Enable</source>
        <translation>启用</translation>
    </message>
    <message>
        <source>Please confirm</source>
        <translation>请确认</translation>
    </message>
    <message>
        <source>Enter an e-mail address and a name.</source>
        <translation>请输入邮箱和姓名。</translation>
    </message>
    <message>
        <source>%1 was created.</source>
        <translation>已创建 %1。</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>正在保存…</translation>
    </message>
    <message>
        <source>Saved.</source>
        <translation>已保存。</translation>
    </message>
    <message>
        <source>Disable %1? Their sessions end now and their open tickets and chats go back to the queue.</source>
        <translation>停用 %1？其登录会话将立即结束，未完成的工单和会话将退回队列。</translation>
    </message>
    <message>
        <source>%1 is disabled: %2 sessions ended, %3 tickets back in the queue.</source>
        <translation>%1 已停用：结束了 %2 个会话，%3 个工单退回队列。</translation>
    </message>
    <message>
        <source>End every session of %1 now?</source>
        <translation>立即结束 %1 的所有登录会话？</translation>
    </message>
    <message>
        <source>%1 sessions of %2 ended.</source>
        <translation>已结束 %2 的 %1 个会话。</translation>
    </message>
    <message>
        <source>Give %1 a new one-time password? Their sessions end.</source>
        <translation>为 %1 生成新的一次性密码？其登录会话将结束。</translation>
    </message>
    <message>
        <source>The password of %1 was reset.</source>
        <translation>已重置 %1 的密码。</translation>
    </message>
</context>
<context>
    <name>AssistText</name>
    <message>
        <source>ended by the customer</source>
        <translation>客户已结束</translation>
    </message>
    <message>
        <source>ended by you</source>
        <translation>您已结束</translation>
    </message>
    <message>
        <source>the connection was lost</source>
        <translation>连接已断开</translation>
    </message>
    <message>
        <source>nothing happened for too long</source>
        <translation>长时间无活动</translation>
    </message>
    <message>
        <source>your account was disabled</source>
        <translation>您的账户已被停用</translation>
    </message>
    <message>
        <source>ended by the service</source>
        <translation>服务已结束</translation>
    </message>
    <message>
        <source>This code is wrong, used or expired. Ask the customer for a new one.</source>
        <translation>此代码错误、已使用或已过期。请让客户提供新代码。</translation>
    </message>
    <message>
        <source>Too many wrong codes. Wait a few minutes and try again.</source>
        <translation>错误代码过多。请稍等几分钟再试。</translation>
    </message>
    <message>
        <source>The code has 8 digits.</source>
        <translation>代码为 8 位数字。</translation>
    </message>
    <message>
        <source>Remote assist</source>
        <translation>远程协助</translation>
    </message>
    <message>
        <source>Ask the customer to share their screen (they must allow it)</source>
        <translation>请客户共享屏幕（需客户同意）</translation>
    </message>
    <message>
        <source>View only</source>
        <translation>仅查看</translation>
    </message>
    <message>
        <source>Control</source>
        <translation>控制</translation>
    </message>
</context>
<context>
    <name>AssistWindow</name>
    <message>
        <source>Fit</source>
        <translation>适应窗口</translation>
    </message>
    <message>
        <source>Fit the screen to the window, or show it 1:1</source>
        <translation>使屏幕适应窗口，或按 1:1 显示</translation>
    </message>
    <message>
        <source>Full screen</source>
        <translation>全屏</translation>
    </message>
    <message>
        <source>Full screen (F11; Esc leaves)</source>
        <translation>全屏（F11；Esc 退出）</translation>
    </message>
    <message>
        <source>Special keys</source>
        <translation>特殊按键</translation>
    </message>
    <message>
        <source>Ctrl+Alt+Del</source>
        <translation>Ctrl+Alt+Del</translation>
    </message>
    <message>
        <source>Windows / Super key</source>
        <translation>Windows / Super 键</translation>
    </message>
    <message>
        <source>Alt+Tab</source>
        <translation>Alt+Tab</translation>
    </message>
    <message>
        <source>Print Screen</source>
        <translation>截屏键 (Print Screen)</translation>
    </message>
    <message>
        <source>Quality:</source>
        <translation>画质：</translation>
    </message>
    <message>
        <source>Low</source>
        <translation>低</translation>
    </message>
    <message>
        <source>Medium</source>
        <translation>中</translation>
    </message>
    <message>
        <source>High</source>
        <translation>高</translation>
    </message>
    <message>
        <source>Frame rate:</source>
        <translation>帧率：</translation>
    </message>
    <message>
        <source>%1 fps</source>
        <translation>%1 帧/秒</translation>
    </message>
    <message>
        <source>Request control</source>
        <translation>请求控制</translation>
    </message>
    <message>
        <source>Send clipboard</source>
        <translation>发送剪贴板</translation>
    </message>
    <message>
        <source>Send the text on your clipboard to the customer</source>
        <translation>将您剪贴板中的文字发送给客户</translation>
    </message>
    <message>
        <source>Open in VNC viewer…</source>
        <translation>在 VNC 查看器中打开…</translation>
    </message>
    <message>
        <source>Note…</source>
        <translation>备注…</translation>
    </message>
    <message>
        <source>End</source>
        <translation>结束</translation>
    </message>
    <message>
        <source>Customer %1</source>
        <translation>客户 %1</translation>
    </message>
    <message>
        <source>Remote assist — %1</source>
        <translation>远程协助 — %1</translation>
    </message>
    <message>
        <source>The customer did not give control.</source>
        <translation>客户未授予控制权。</translation>
    </message>
    <message>
        <source>You have control</source>
        <translation>您已获得控制权</translation>
    </message>
    <message>
        <source>Waiting for the customer…</source>
        <translation>正在等待客户…</translation>
    </message>
    <message>
        <source>Waiting for the customer to allow…</source>
        <translation>正在等待客户允许…</translation>
    </message>
    <message>
        <source>Live</source>
        <translation>实时</translation>
    </message>
    <message>
        <source>Paused by the customer</source>
        <translation>客户已暂停</translation>
    </message>
    <message>
        <source>The customer declined</source>
        <translation>客户已拒绝</translation>
    </message>
    <message>
        <source>The customer did not answer</source>
        <translation>客户未回应</translation>
    </message>
    <message>
        <source>Ended</source>
        <translation>已结束</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <source>Control</source>
        <translation>控制</translation>
    </message>
    <message>
        <source>View only</source>
        <translation>仅查看</translation>
    </message>
    <message>
        <source>%1 kbit/s</source>
        <translation>%1 kbit/s</translation>
    </message>
    <message>
        <source>The customer&apos;s clipboard text is on your clipboard.</source>
        <translation>客户剪贴板中的文字已复制到您的剪贴板。</translation>
    </message>
    <message>
        <source>1:1</source>
        <translation>1:1</translation>
    </message>
    <message>
        <source>Clipboard text sent to the customer.</source>
        <translation>剪贴板文字已发送给客户。</translation>
    </message>
    <message>
        <source>Note saved.</source>
        <translation>备注已保存。</translation>
    </message>
    <message>
        <source>Show here again</source>
        <translation>在此重新显示</translation>
    </message>
    <message>
        <source>Connect your VNC viewer to %1 (this computer only).</source>
        <translation>请用 VNC 查看器连接 %1（仅限本机）。</translation>
    </message>
    <message>
        <source>The VNC bridge could not start: %1</source>
        <translation>VNC 桥接无法启动：%1</translation>
    </message>
</context>
<context>
    <name>AuditPanel</name>
    <message>
        <source>Action (e.g. agent.)</source>
        <translation>操作（如 agent.）</translation>
    </message>
    <message>
        <source>Actor</source>
        <translation>操作人</translation>
    </message>
    <message>
        <source>Any outcome</source>
        <translation>全部结果</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>成功</translation>
    </message>
    <message>
        <source>Denied</source>
        <translation>被拒绝</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>From</source>
        <translation>起始</translation>
    </message>
    <message>
        <source>To</source>
        <translation>截止</translation>
    </message>
    <message>
        <source>Search</source>
        <translation>搜索</translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation>导出 CSV…</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <source>Target</source>
        <translation>对象</translation>
    </message>
    <message>
        <source>Outcome</source>
        <translation>结果</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>详情</translation>
    </message>
    <message>
        <source>‹ Newer</source>
        <translation>‹ 较新</translation>
    </message>
    <message>
        <source>Older ›</source>
        <translation>较早 ›</translation>
    </message>
    <message>
        <source>Page %1 of %2 · %3 entries</source>
        <translation>第 %1 / %2 页 · 共 %3 条</translation>
    </message>
    <message>
        <source>Save CSV</source>
        <translation>保存 CSV</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>已保存到 %1</translation>
    </message>
    <message>
        <source>Exporting…</source>
        <translation>正在导出…</translation>
    </message>
</context>
<context>
    <name>CannedEditor</name>
    <message>
        <source>Canned replies</source>
        <translation>快捷回复</translation>
    </message>
    <message>
        <source>Type / and the shortcut in a reply box to insert a reply, or pick it from the Canned replies menu.</source>
        <translation>在回复框中输入 / 加快捷词即可插入回复，也可以从“快捷回复”菜单中选择。</translation>
    </message>
    <message>
        <source>Shortcut</source>
        <translation>快捷词</translation>
    </message>
    <message>
        <source>Title</source>
        <translation>标题</translation>
    </message>
    <message>
        <source>Text</source>
        <translation>内容</translation>
    </message>
    <message>
        <source>Add</source>
        <translation>添加</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>删除</translation>
    </message>
</context>
<context>
    <name>CannedLibrary</name>
    <message>
        <source>The canned replies could not be saved: %1</source>
        <translation>无法保存快捷回复：%1</translation>
    </message>
</context>
<context>
    <name>CannedReplies</name>
    <message>
        <source>Greeting</source>
        <translation>问候</translation>
    </message>
    <message>
        <source>Hello, thank you for contacting us. </source>
        <translation>您好，感谢您联系我们。</translation>
    </message>
    <message>
        <source>Thanks and close</source>
        <translation>致谢并关闭</translation>
    </message>
    <message>
        <source>Thank you for your patience. I am closing this request now; reply here any time if the problem comes back.</source>
        <translation>感谢您的耐心。我现在关闭此请求；如果问题再次出现，欢迎随时在这里回复。</translation>
    </message>
    <message>
        <source>Ask for logs</source>
        <translation>索取日志</translation>
    </message>
    <message>
        <source>Could you send us the diagnostic bundle? In HelpBridge choose Help &gt; Diagnostics, then attach the file here.</source>
        <translation>能否发送诊断包给我们？请在 HelpBridge 中选择“帮助 &gt; 诊断”，然后将文件附在这里。</translation>
    </message>
</context>
<context>
    <name>Chart</name>
    <message>
        <source>No data for this period</source>
        <translation>此期间没有数据</translation>
    </message>
</context>
<context>
    <name>ChatPage</name>
    <message>
        <source>Choose a conversation in the inbox.</source>
        <translation>请在收件箱中选择一个会话。</translation>
    </message>
    <message>
        <source>Connecting to live chat…</source>
        <translation>正在连接在线聊天…</translation>
    </message>
    <message>
        <source>Live chat is offline; reconnecting…</source>
        <translation>在线聊天已断开，正在重新连接…</translation>
    </message>
    <message>
        <source>Live chat needs a new sign-in.</source>
        <translation>在线聊天需要重新登录。</translation>
    </message>
    <message>
        <source>Live chat is off.</source>
        <translation>在线聊天已关闭。</translation>
    </message>
</context>
<context>
    <name>ChatText</name>
    <message>
        <source>Customer %1</source>
        <translation>客户 %1</translation>
    </message>
</context>
<context>
    <name>CodeDialog</name>
    <message>
        <source>Remote assist with a code</source>
        <translation>使用代码进行远程协助</translation>
    </message>
    <message>
        <source>The code the customer reads to you:</source>
        <translation>客户告诉您的代码：</translation>
    </message>
    <message>
        <source>View only</source>
        <translation>仅查看</translation>
    </message>
    <message>
        <source>Ask for control too</source>
        <translation>同时请求控制</translation>
    </message>
    <message>
        <source>The code has 8 digits.</source>
        <translation>代码为 8 位数字。</translation>
    </message>
</context>
<context>
    <name>Console</name>
    <message>
        <source>Your sign-in cannot be saved on this computer: sign in again next time.</source>
        <translation>无法在本机保存登录信息，下次需要重新登录。</translation>
    </message>
</context>
<context>
    <name>ConsoleWindow</name>
    <message>
        <source>Remote assist: enter code…</source>
        <translation>远程协助：输入代码…</translation>
    </message>
    <message>
        <source>HelpBridge Agent</source>
        <translation>HelpBridge 客服台</translation>
    </message>
    <message>
        <source>Tickets</source>
        <translation>工单</translation>
    </message>
    <message>
        <source>Chats</source>
        <translation>会话</translation>
    </message>
    <message>
        <source>Team</source>
        <translation>团队</translation>
    </message>
    <message>
        <source>Reports</source>
        <translation>报表</translation>
    </message>
    <message>
        <source>Administration</source>
        <translation>管理</translation>
    </message>
    <message>
        <source>Presence:</source>
        <translation>在线状态：</translation>
    </message>
    <message>
        <source>Chats at once:</source>
        <translation>同时接待：</translation>
    </message>
    <message>
        <source>The most chats you take at the same time</source>
        <translation>您同时接待的最大会话数</translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation>退出登录</translation>
    </message>
    <message>
        <source>Sign in…</source>
        <translation>登录…</translation>
    </message>
    <message>
        <source>Not signed in</source>
        <translation>未登录</translation>
    </message>
    <message>
        <source>Connected</source>
        <translation>已连接</translation>
    </message>
    <message>
        <source>Live</source>
        <translation>实时在线</translation>
    </message>
    <message>
        <source>Offline — retrying</source>
        <translation>离线 — 正在重试</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <source>Chats (%1 waiting)</source>
        <translation>会话（%1 个等待）</translation>
    </message>
    <message>
        <source>New chat: %1</source>
        <translation>新会话：%1</translation>
    </message>
    <message>
        <source>Ticket</source>
        <translation>工单</translation>
    </message>
</context>
<context>
    <name>Controller</name>
    <message>
        <source>Signing in…</source>
        <translation>正在登录…</translation>
    </message>
    <message>
        <source>Not signed in.</source>
        <translation>未登录。</translation>
    </message>
    <message>
        <source>Signed in as %1</source>
        <translation>已登录：%1</translation>
    </message>
    <message>
        <source>Live chat is not available in this build.</source>
        <translation>此版本不支持在线聊天。</translation>
    </message>
</context>
<context>
    <name>ConversationView</name>
    <message>
        <source>Accept</source>
        <translation>接入</translation>
    </message>
    <message>
        <source>Transfer</source>
        <translation>转接</translation>
    </message>
    <message>
        <source>Turn into ticket</source>
        <translation>转为工单</translation>
    </message>
    <message>
        <source>Close chat</source>
        <translation>结束会话</translation>
    </message>
    <message>
        <source>Customer %1</source>
        <translation>客户 %1</translation>
    </message>
    <message>
        <source>with %1</source>
        <translation>由 %1 接待</translation>
    </message>
    <message>
        <source>queue %1</source>
        <translation>队列 %1</translation>
    </message>
    <message>
        <source>This chat is closed.</source>
        <translation>此会话已结束。</translation>
    </message>
    <message>
        <source>%1 is typing…</source>
        <translation>%1 正在输入…</translation>
    </message>
    <message>
        <source>Internal note</source>
        <translation>内部备注</translation>
    </message>
    <message>
        <source>sending…</source>
        <translation>发送中…</translation>
    </message>
    <message>
        <source>sent</source>
        <translation>已发送</translation>
    </message>
    <message>
        <source>not sent</source>
        <translation>未发送</translation>
    </message>
    <message>
        <source>Loading agents…</source>
        <translation>正在加载客服…</translation>
    </message>
    <message>
        <source>No other agent</source>
        <translation>没有其他客服</translation>
    </message>
    <message>
        <source>Live chat is not connected yet.</source>
        <translation>在线聊天尚未连接。</translation>
    </message>
    <message>
        <source>Save attachment</source>
        <translation>保存附件</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
</context>
<context>
    <name>CustomerPanel</name>
    <message>
        <source>CUSTOMER</source>
        <translation>客户</translation>
    </message>
    <message>
        <source>Company:</source>
        <translation>公司：</translation>
    </message>
    <message>
        <source>Product:</source>
        <translation>产品：</translation>
    </message>
    <message>
        <source>E-mail:</source>
        <translation>邮箱：</translation>
    </message>
    <message>
        <source>Phone:</source>
        <translation>电话：</translation>
    </message>
    <message>
        <source>Customer ID:</source>
        <translation>客户编号：</translation>
    </message>
    <message>
        <source>TICKETS</source>
        <translation>工单</translation>
    </message>
    <message>
        <source>EARLIER CHATS</source>
        <translation>历史会话</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>This ticket</source>
        <translation>当前工单</translation>
    </message>
    <message>
        <source>No tickets</source>
        <translation>暂无工单</translation>
    </message>
</context>
<context>
    <name>FileChip</name>
    <message>
        <source>Remove %1</source>
        <translation>移除 %1</translation>
    </message>
</context>
<context>
    <name>GroupsPanel</name>
    <message>
        <source>New group…</source>
        <translation>新建小组…</translation>
    </message>
    <message>
        <source>Rename…</source>
        <translation>重命名…</translation>
    </message>
    <message>
        <source>Products…</source>
        <translation>产品…</translation>
    </message>
    <message>
        <source>Members…</source>
        <translation>成员…</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Group</source>
        <translation>小组</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Products</source>
        <translation>产品</translation>
    </message>
    <message>
        <source>Members</source>
        <translation>成员</translation>
    </message>
    <message>
        <source>Saved.</source>
        <translation>已保存。</translation>
    </message>
    <message>
        <source>New group</source>
        <translation>新建小组</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>正在保存…</translation>
    </message>
    <message>
        <source>Rename group</source>
        <translation>重命名小组</translation>
    </message>
    <message>
        <source>Products of %1</source>
        <translation>%1 的产品</translation>
    </message>
    <message>
        <source>Products, separated by commas</source>
        <translation>产品，以逗号分隔</translation>
    </message>
</context>
<context>
    <name>Inbox</name>
    <message>
        <source>Waiting</source>
        <translation>等待中</translation>
    </message>
    <message>
        <source>Mine</source>
        <translation>我的</translation>
    </message>
    <message>
        <source>All</source>
        <translation>全部</translation>
    </message>
    <message>
        <source>Connecting to live chat…</source>
        <translation>正在连接在线聊天…</translation>
    </message>
    <message>
        <source>Nothing here.</source>
        <translation>暂无内容。</translation>
    </message>
</context>
<context>
    <name>MembersDialog</name>
    <message>
        <source>Members of %1</source>
        <translation>%1 的成员</translation>
    </message>
</context>
<context>
    <name>NoteDialog</name>
    <message>
        <source>Note on this remote session</source>
        <translation>本次远程会话的备注</translation>
    </message>
    <message>
        <source>Saved as an internal note on the conversation or ticket.</source>
        <translation>将作为内部备注保存到对话或工单中。</translation>
    </message>
    <message>
        <source>Write something first.</source>
        <translation>请先填写内容。</translation>
    </message>
</context>
<context>
    <name>OneTimePasswordDialog</name>
    <message>
        <source>One-time password</source>
        <translation>一次性密码</translation>
    </message>
    <message>
        <source>The temporary password of %1. It is shown only now: give it to them in person or by phone.</source>
        <translation>%1 的临时密码。它只显示这一次：请当面或通过电话告知对方。</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
</context>
<context>
    <name>Panel</name>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
</context>
<context>
    <name>PermissionsDialog</name>
    <message>
        <source>Permissions of %1</source>
        <translation>%1 的权限</translation>
    </message>
    <message>
        <source>Greyed out: not yours to grant. Role defaults are marked with *.</source>
        <translation>灰色：您无权授予。角色默认权限以 * 标出。</translation>
    </message>
</context>
<context>
    <name>QualityPanel</name>
    <message>
        <source>Rubrics</source>
        <translation>评分标准</translation>
    </message>
    <message>
        <source>New rubric</source>
        <translation>新建评分标准</translation>
    </message>
    <message>
        <source>In use</source>
        <translation>启用</translation>
    </message>
    <message>
        <source>Criterion</source>
        <translation>评分项</translation>
    </message>
    <message>
        <source>Weight</source>
        <translation>权重</translation>
    </message>
    <message>
        <source>Highest score</source>
        <translation>满分</translation>
    </message>
    <message>
        <source>Add criterion</source>
        <translation>添加评分项</translation>
    </message>
    <message>
        <source>Remove criterion</source>
        <translation>删除评分项</translation>
    </message>
    <message>
        <source>Save rubric</source>
        <translation>保存评分标准</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <source>Description</source>
        <translation>说明</translation>
    </message>
    <message>
        <source>Criteria</source>
        <translation>评分项</translation>
    </message>
    <message>
        <source>Closed chat:</source>
        <translation>已结束的会话：</translation>
    </message>
    <message>
        <source>Score…</source>
        <translation>评分…</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Chat</source>
        <translation>会话</translation>
    </message>
    <message>
        <source>Agent</source>
        <translation>客服</translation>
    </message>
    <message>
        <source>Rubric</source>
        <translation>评分标准</translation>
    </message>
    <message>
        <source>Score</source>
        <translation>得分</translation>
    </message>
    <message>
        <source>Reviewer</source>
        <translation>评审人</translation>
    </message>
    <message>
        <source>Comment</source>
        <translation>备注</translation>
    </message>
    <message>
        <source>%1 (not in use)</source>
        <translation>%1（停用）</translation>
    </message>
    <message>
        <source>Greeting</source>
        <translation>问候</translation>
    </message>
    <message>
        <source>Solution</source>
        <translation>解决方案</translation>
    </message>
    <message>
        <source>Tone</source>
        <translation>语气</translation>
    </message>
    <message>
        <source>Used for %1 scores: its criteria stay as they are.</source>
        <translation>已用于 %1 次评分：评分项不可再修改。</translation>
    </message>
    <message>
        <source>A rubric needs a name and criteria with different names.</source>
        <translation>评分标准需要名称，且评分项名称不能重复。</translation>
    </message>
    <message>
        <source>Saved.</source>
        <translation>已保存。</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>正在保存…</translation>
    </message>
    <message>
        <source>Chat #%1 scored %2.</source>
        <translation>会话 #%1 得分 %2。</translation>
    </message>
</context>
<context>
    <name>ReplyComposer</name>
    <message>
        <source>Internal note</source>
        <translation>内部备注</translation>
    </message>
    <message>
        <source>Write a note only agents can see</source>
        <translation>写一条只有客服可见的备注</translation>
    </message>
    <message>
        <source>Attach file…</source>
        <translation>添加附件…</translation>
    </message>
    <message>
        <source>Canned replies</source>
        <translation>快捷回复</translation>
    </message>
    <message>
        <source>Search knowledge base…</source>
        <translation>搜索知识库…</translation>
    </message>
    <message>
        <source>Insert link</source>
        <translation>插入链接</translation>
    </message>
    <message>
        <source>Insert text</source>
        <translation>插入正文</translation>
    </message>
    <message>
        <source>Write a reply… (/ for canned replies, Ctrl+Enter to send)</source>
        <translation>输入回复…（输入 / 使用快捷回复，Ctrl+Enter 发送）</translation>
    </message>
    <message>
        <source>Send reply</source>
        <translation>发送回复</translation>
    </message>
    <message>
        <source>Add note</source>
        <translation>添加备注</translation>
    </message>
    <message>
        <source>Internal note — only agents see it</source>
        <translation>内部备注 — 仅客服可见</translation>
    </message>
    <message>
        <source>Edit canned replies…</source>
        <translation>编辑快捷回复…</translation>
    </message>
    <message>
        <source>Attach files</source>
        <translation>添加附件</translation>
    </message>
    <message>
        <source>Searching…</source>
        <translation>正在搜索…</translation>
    </message>
    <message numerus="yes">
        <source>%n article(s) found</source>
        <translation>
            <numerusform>找到 %n 篇文章</numerusform>
        </translation>
    </message>
    <message>
        <source>No article matches.</source>
        <translation>没有匹配的文章。</translation>
    </message>
    <message>
        <source>Loading the article…</source>
        <translation>正在加载文章…</translation>
    </message>
    <message>
        <source>Write something or attach a file first.</source>
        <translation>请先输入内容或添加附件。</translation>
    </message>
    <message>
        <source>The reply is too long (at most %1 characters).</source>
        <translation>回复过长（最多 %1 个字符）。</translation>
    </message>
</context>
<context>
    <name>ReportsPage</name>
    <message>
        <source>%1 s</source>
        <translation>%1 秒</translation>
    </message>
    <message>
        <source>Reports</source>
        <translation>报表</translation>
    </message>
    <message>
        <source>Last %1 days</source>
        <translation>最近 %1 天</translation>
    </message>
    <message>
        <source>Custom…</source>
        <translation>自定义…</translation>
    </message>
    <message>
        <source>By day</source>
        <translation>按天</translation>
    </message>
    <message>
        <source>By week</source>
        <translation>按周</translation>
    </message>
    <message>
        <source>By month</source>
        <translation>按月</translation>
    </message>
    <message>
        <source>All groups</source>
        <translation>全部小组</translation>
    </message>
    <message>
        <source>All agents</source>
        <translation>全部客服</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Export CSV</source>
        <translation>导出 CSV</translation>
    </message>
    <message>
        <source>First response time</source>
        <translation>首次响应时间</translation>
    </message>
    <message>
        <source>Resolution time</source>
        <translation>解决时长</translation>
    </message>
    <message>
        <source>Resolution rate</source>
        <translation>解决率</translation>
    </message>
    <message>
        <source>Reopen rate</source>
        <translation>重开率</translation>
    </message>
    <message>
        <source>CSAT</source>
        <translation>满意度</translation>
    </message>
    <message>
        <source>SLA breach rate</source>
        <translation>SLA 违约率</translation>
    </message>
    <message>
        <source>Tickets over time</source>
        <translation>工单量趋势</translation>
    </message>
    <message>
        <source>Bars</source>
        <translation>柱状</translation>
    </message>
    <message>
        <source>Line</source>
        <translation>折线</translation>
    </message>
    <message>
        <source>By product</source>
        <translation>按产品</translation>
    </message>
    <message>
        <source>By module</source>
        <translation>按模块</translation>
    </message>
    <message>
        <source>By version</source>
        <translation>按版本</translation>
    </message>
    <message>
        <source>By category</source>
        <translation>按类别</translation>
    </message>
    <message>
        <source>Agents</source>
        <translation>客服</translation>
    </message>
    <message>
        <source>Agent</source>
        <translation>客服</translation>
    </message>
    <message>
        <source>Tickets</source>
        <translation>工单</translation>
    </message>
    <message>
        <source>Resolved</source>
        <translation>已解决</translation>
    </message>
    <message>
        <source>First response</source>
        <translation>首次响应</translation>
    </message>
    <message>
        <source>Chats</source>
        <translation>会话</translation>
    </message>
    <message>
        <source>Quality</source>
        <translation>质检分</translation>
    </message>
    <message>
        <source>Groups</source>
        <translation>小组</translation>
    </message>
    <message>
        <source>Group</source>
        <translation>小组</translation>
    </message>
    <message>
        <source>Members</source>
        <translation>成员</translation>
    </message>
    <message>
        <source>Summary</source>
        <translation>汇总</translation>
    </message>
    <message>
        <source>Quality scores</source>
        <translation>质检评分</translation>
    </message>
    <message>
        <source>The period ends before it starts.</source>
        <translation>结束日期早于开始日期。</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>Updated %1</source>
        <translation>更新于 %1</translation>
    </message>
    <message>
        <source>%1 tickets of %2 created in the period.</source>
        <translation>此期间 %2 共新建 %1 个工单。</translation>
    </message>
    <message>
        <source>%1 tickets created in the period.</source>
        <translation>此期间共新建 %1 个工单。</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <source>(unassigned)</source>
        <translation>（未分配）</translation>
    </message>
    <message>
        <source>median · p90 %1</source>
        <translation>中位数 · p90 %1</translation>
    </message>
    <message>
        <source>%1 of %2 tickets</source>
        <translation>%2 个工单中的 %1 个</translation>
    </message>
    <message>
        <source>%1 reopened</source>
        <translation>%1 个重开</translation>
    </message>
    <message>
        <source>%1 ratings · %2 positive</source>
        <translation>%1 个评价 · 好评 %2</translation>
    </message>
    <message>
        <source>%1 breached</source>
        <translation>%1 个违约</translation>
    </message>
    <message>
        <source>Save CSV</source>
        <translation>保存 CSV</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
    </message>
    <message>
        <source>Exporting…</source>
        <translation>正在导出…</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>已保存到 %1</translation>
    </message>
</context>
<context>
    <name>ScoreDialog</name>
    <message>
        <source>Score %1</source>
        <translation>为 %1 评分</translation>
    </message>
    <message>
        <source>Comment</source>
        <translation>备注</translation>
    </message>
</context>
<context>
    <name>SignInDialog</name>
    <message>
        <source>Sign in to HelpBridge</source>
        <translation>登录 HelpBridge</translation>
    </message>
    <message>
        <source>HelpBridge agent console</source>
        <translation>HelpBridge 客服台</translation>
    </message>
    <message>
        <source>Service address:</source>
        <translation>服务地址：</translation>
    </message>
    <message>
        <source>name@example.com</source>
        <translation>name@example.com</translation>
    </message>
    <message>
        <source>E-mail:</source>
        <translation>邮箱：</translation>
    </message>
    <message>
        <source>Password:</source>
        <translation>密码：</translation>
    </message>
    <message>
        <source>Sign in</source>
        <translation>登录</translation>
    </message>
    <message>
        <source>Enter an address starting with http:// or https://</source>
        <translation>请输入以 http:// 或 https:// 开头的地址</translation>
    </message>
    <message>
        <source>Enter your e-mail address.</source>
        <translation>请输入邮箱地址。</translation>
    </message>
    <message>
        <source>Enter your password.</source>
        <translation>请输入密码。</translation>
    </message>
    <message>
        <source>Signing in…</source>
        <translation>正在登录…</translation>
    </message>
</context>
<context>
    <name>TeamPage</name>
    <message>
        <source>Agents</source>
        <translation>客服</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Agent</source>
        <translation>客服</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Chats</source>
        <translation>会话</translation>
    </message>
    <message>
        <source>Capacity</source>
        <translation>接待上限</translation>
    </message>
    <message>
        <source>Queues</source>
        <translation>队列</translation>
    </message>
    <message>
        <source>Queue</source>
        <translation>队列</translation>
    </message>
    <message>
        <source>Waiting chats</source>
        <translation>等待中的会话</translation>
    </message>
    <message>
        <source>%1 online · %2 waiting</source>
        <translation>%1 人在线 · %2 个等待</translation>
    </message>
</context>
<context>
    <name>TicketQueue</name>
    <message>
        <source>Active</source>
        <translation>未完结</translation>
    </message>
    <message>
        <source>Any status</source>
        <translation>所有状态</translation>
    </message>
    <message>
        <source>Any priority</source>
        <translation>所有优先级</translation>
    </message>
    <message>
        <source>Everyone&apos;s</source>
        <translation>所有人</translation>
    </message>
    <message>
        <source>Mine</source>
        <translation>我的</translation>
    </message>
    <message>
        <source>Unassigned</source>
        <translation>未分配</translation>
    </message>
    <message>
        <source>SLA breached</source>
        <translation>SLA 已超时</translation>
    </message>
    <message>
        <source>Status:</source>
        <translation>状态：</translation>
    </message>
    <message>
        <source>Priority:</source>
        <translation>优先级：</translation>
    </message>
    <message>
        <source>Assignee:</source>
        <translation>处理人：</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>#</source>
        <translation>编号</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>主题</translation>
    </message>
    <message>
        <source>Customer</source>
        <translation>客户</translation>
    </message>
    <message>
        <source>Priority</source>
        <translation>优先级</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Assignee</source>
        <translation>处理人</translation>
    </message>
    <message>
        <source>SLA</source>
        <translation>SLA</translation>
    </message>
    <message>
        <source>Updated</source>
        <translation>更新时间</translation>
    </message>
    <message>
        <source>%1 of %2 tickets</source>
        <translation>显示 %1 个，共 %2 个工单</translation>
    </message>
    <message numerus="yes">
        <source>%n ticket(s)</source>
        <translation>
            <numerusform>%n 个工单</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>TicketView</name>
    <message>
        <source>Opened the ticket</source>
        <translation>提交了工单</translation>
    </message>
    <message>
        <source>Internal note</source>
        <translation>内部备注</translation>
    </message>
    <message>
        <source>Status: %1 → %2</source>
        <translation>状态：%1 → %2</translation>
    </message>
    <message>
        <source>Assigned to %1</source>
        <translation>分配给 %1</translation>
    </message>
    <message>
        <source>Unassigned</source>
        <translation>未分配</translation>
    </message>
    <message>
        <source>Rated the support %1/5</source>
        <translation>服务评分 %1/5</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>Status:</source>
        <translation>状态：</translation>
    </message>
    <message>
        <source>Assign</source>
        <translation>分配</translation>
    </message>
    <message>
        <source>Assignee: %1</source>
        <translation>处理人：%1</translation>
    </message>
    <message>
        <source>Opened %1</source>
        <translation>创建于 %1</translation>
    </message>
    <message>
        <source>This ticket is closed; reopen it to reply.</source>
        <translation>此工单已关闭；重新打开后才能回复。</translation>
    </message>
    <message>
        <source>Save attachment</source>
        <translation>保存附件</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
    <message>
        <source>Assign to me</source>
        <translation>分配给我</translation>
    </message>
    <message>
        <source>Assign automatically</source>
        <translation>自动分配</translation>
    </message>
    <message>
        <source>To the active agent with the fewest open tickets</source>
        <translation>分配给未完结工单最少的在岗客服</translation>
    </message>
    <message>
        <source>Assign to</source>
        <translation>分配给</translation>
    </message>
    <message>
        <source>Unassign</source>
        <translation>取消分配</translation>
    </message>
</context>
</TS>
