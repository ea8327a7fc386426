<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>Banner</name>
    <message>
        <source>Dismiss</source>
        <translation>关闭</translation>
    </message>
</context>
<context>
    <name>Errors</name>
    <message>
        <source>The help service cannot be reached. Check your network connection.</source>
        <translation>无法连接帮助服务，请检查网络连接。</translation>
    </message>
    <message>
        <source>The help service sent an answer HelpBridge does not understand.</source>
        <translation>帮助服务返回了 HelpBridge 无法识别的内容。</translation>
    </message>
    <message>
        <source>This version of HelpBridge cannot work with the help service at this address. Please update HelpBridge or check the server address in Settings.</source>
        <translation>此版本的 HelpBridge 无法与该地址上的帮助服务配合使用。请更新 HelpBridge，或在“设置”中检查服务地址。</translation>
    </message>
    <message>
        <source>Your application did not pass a valid sign-in to HelpBridge. You can still search the help articles.</source>
        <translation>您的应用程序未向 HelpBridge 传递有效的登录信息。您仍然可以搜索帮助文章。</translation>
    </message>
    <message>
        <source>Your application did not pass a sign-in to HelpBridge.</source>
        <translation>您的应用程序未向 HelpBridge 传递登录信息。</translation>
    </message>
    <message>
        <source>The sign-in passed by your application is damaged. Please open Help again from your application.</source>
        <translation>应用程序传递的登录信息已损坏，请从应用程序中重新打开帮助。</translation>
    </message>
    <message>
        <source>Your sign-in has expired. Please open Help again from your application.</source>
        <translation>登录已过期，请从应用程序中重新打开帮助。</translation>
    </message>
    <message>
        <source>Your sign-in is not valid yet. Please check that this computer&apos;s clock is correct.</source>
        <translation>登录信息尚未生效，请检查本机时间是否正确。</translation>
    </message>
    <message>
        <source>Your sign-in could not be verified by the help service. Please contact your administrator.</source>
        <translation>帮助服务无法验证您的登录信息，请联系管理员。</translation>
    </message>
    <message>
        <source>Your application signed you in with a key the help service does not know. Please contact your administrator.</source>
        <translation>应用程序使用了帮助服务无法识别的密钥进行登录，请联系管理员。</translation>
    </message>
    <message>
        <source>Your application signed you in in a way the help service does not accept. Please contact your administrator.</source>
        <translation>应用程序使用的登录方式不被帮助服务接受，请联系管理员。</translation>
    </message>
    <message>
        <source>Your application&apos;s sign-in is valid for too long to be accepted. Please contact your administrator.</source>
        <translation>应用程序提供的登录信息有效期过长，无法接受，请联系管理员。</translation>
    </message>
    <message>
        <source>Your application&apos;s sign-in lacks required details. Please contact your administrator.</source>
        <translation>应用程序提供的登录信息缺少必要内容，请联系管理员。</translation>
    </message>
    <message>
        <source>Your application&apos;s sign-in contains invalid details. Please contact your administrator.</source>
        <translation>应用程序提供的登录信息包含无效内容，请联系管理员。</translation>
    </message>
    <message>
        <source>You are not signed in. Please open Help from your application.</source>
        <translation>您尚未登录，请从应用程序中打开帮助。</translation>
    </message>
    <message>
        <source>Your session is no longer valid. Please open Help again from your application.</source>
        <translation>会话已失效，请从应用程序中重新打开帮助。</translation>
    </message>
    <message>
        <source>Your session has expired. Please open Help again from your application.</source>
        <translation>会话已过期，请从应用程序中重新打开帮助。</translation>
    </message>
    <message>
        <source>You were signed out. Please open Help again from your application.</source>
        <translation>您已退出登录，请从应用程序中重新打开帮助。</translation>
    </message>
    <message>
        <source>You are not allowed to do this.</source>
        <translation>您没有执行此操作的权限。</translation>
    </message>
    <message>
        <source>This article is no longer available.</source>
        <translation>这篇文章已不存在。</translation>
    </message>
    <message>
        <source>The help service could not accept this request.</source>
        <translation>帮助服务无法处理此请求。</translation>
    </message>
    <message>
        <source>Too many requests. Please wait a moment and try again.</source>
        <translation>请求过于频繁，请稍后再试。</translation>
    </message>
    <message>
        <source>The help service had a problem. Please try again later.</source>
        <translation>帮助服务出现问题，请稍后再试。</translation>
    </message>
    <message>
        <source>Something went wrong. Please try again.</source>
        <translation>出现错误，请重试。</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Help</source>
        <translation>帮助</translation>
    </message>
    <message>
        <source>Tickets</source>
        <translation>工单</translation>
    </message>
    <message>
        <source>Chat</source>
        <translation>在线咨询</translation>
    </message>
    <message>
        <source>Coming soon in a later version of HelpBridge</source>
        <translation>将在 HelpBridge 后续版本中推出</translation>
    </message>
    <message>
        <source>Search and read help articles</source>
        <translation>搜索并阅读帮助文章</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Search help articles, e.g. “invoice” or an error code</source>
        <translation>搜索帮助文章，例如“发票”或错误代码</translation>
    </message>
    <message>
        <source>Search help articles</source>
        <translation>搜索帮助文章</translation>
    </message>
    <message>
        <source>CATEGORIES</source>
        <translation>文章分类</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>How can we help you?</source>
        <translation>有什么可以帮您？</translation>
    </message>
    <message>
        <source>Type your question or an error code in the search box, or pick a category on the left to browse its articles.</source>
        <translation>在搜索框中输入您的问题或错误代码，或在左侧选择分类浏览文章。</translation>
    </message>
    <message>
        <source>Remove this filter</source>
        <translation>清除此筛选</translation>
    </message>
    <message>
        <source>More results</source>
        <translation>更多结果</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>返回</translation>
    </message>
    <message>
        <source>Not signed in</source>
        <translation>未登录</translation>
    </message>
    <message>
        <source>Open Help from your application to sign in.</source>
        <translation>请从应用程序中打开帮助以登录。</translation>
    </message>
    <message>
        <source>Standard</source>
        <translation>标准</translation>
    </message>
    <message>
        <source>Support level</source>
        <translation>服务等级</translation>
    </message>
    <message>
        <source>Signed in as {name}</source>
        <translation>已登录：{name}</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <source>Online</source>
        <translation>在线</translation>
    </message>
    <message>
        <source>Offline</source>
        <translation>离线</translation>
    </message>
    <message>
        <source>Offline — showing saved results</source>
        <translation>离线 — 正在显示已保存的结果</translation>
    </message>
    <message>
        <source>Retry now</source>
        <translation>立即重试</translation>
    </message>
    <message>
        <source>Categories are not available offline yet.</source>
        <translation>离线时暂无可用的分类。</translation>
    </message>
    <message>
        <source>No categories yet.</source>
        <translation>暂无分类。</translation>
    </message>
    <message>
        <source>Searching…</source>
        <translation>正在搜索…</translation>
    </message>
    <message>
        <source>This search is not saved on this computer. Results will appear when the connection is back.</source>
        <translation>本机没有保存此次搜索的结果。连接恢复后将显示结果。</translation>
    </message>
    <message>
        <source>No results for “{typed}”; showing results for “{corrected}”.</source>
        <translation>未找到“{typed}”的结果，已为您显示“{corrected}”的结果。</translation>
    </message>
    <message>
        <source>Showing {shown} of {total}</source>
        <translation>显示 {shown} 条，共 {total} 条</translation>
    </message>
    <message>
        <source>Saved results</source>
        <translation>已保存的结果</translation>
    </message>
    <message>
        <source>No articles match “{query}”. Try other words or fewer words.</source>
        <translation>没有与“{query}”匹配的文章。请换个关键词，或减少关键词再试。</translation>
    </message>
    <message>
        <source>This category has no articles yet.</source>
        <translation>此分类暂无文章。</translation>
    </message>
    <message>
        <source>Results for “{query}”</source>
        <translation>“{query}”的搜索结果</translation>
    </message>
    <message>
        <source>Not available offline</source>
        <translation>离线时不可用</translation>
    </message>
    <message>
        <source>This article is not saved on this computer. It will open when the connection is back.</source>
        <translation>本机没有保存这篇文章。连接恢复后即可打开。</translation>
    </message>
    <message>
        <source>MMM d, yyyy</source>
        <translation>yyyy年M月d日</translation>
    </message>
    <message>
        <source>Updated {date}</source>
        <translation>更新于 {date}</translation>
    </message>
    <message>
        <source>saved copy</source>
        <translation>已保存的副本</translation>
    </message>
    <message>
        <source>Article not available</source>
        <translation>文章无法打开</translation>
    </message>
    <message>
        <source>Tickets will come in a later version of HelpBridge. Until then, please search the help articles.</source>
        <translation>工单功能将在 HelpBridge 后续版本中推出。在此之前，请先搜索帮助文章。</translation>
    </message>
    <message>
        <source>Chat will come in a later version of HelpBridge. Until then, please search the help articles.</source>
        <translation>在线咨询将在 HelpBridge 后续版本中推出。在此之前，请先搜索帮助文章。</translation>
    </message>
    <message>
        <source>The new language will be used the next time HelpBridge starts.</source>
        <translation>新的语言将在下次启动 HelpBridge 时生效。</translation>
    </message>
</context>
<context>
    <name>Portal</name>
    <message>
        <source>Your sign-in cannot be saved on this computer, so it is kept only until HelpBridge closes.</source>
        <translation>无法在本机保存您的登录信息，登录状态仅保持到 HelpBridge 关闭为止。</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Help service address:</source>
        <translation>帮助服务地址：</translation>
    </message>
    <message>
        <source>System language</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>Language:</source>
        <translation>语言：</translation>
    </message>
    <message>
        <source>A new language is used the next time HelpBridge starts.</source>
        <translation>更改的语言将在下次启动 HelpBridge 时生效。</translation>
    </message>
    <message>
        <source>Enter an address starting with http:// or https://</source>
        <translation>请输入以 http:// 或 https:// 开头的地址</translation>
    </message>
</context>
<context>
    <name>Tray</name>
    <message>
        <source>Show HelpBridge</source>
        <translation>显示 HelpBridge</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>Hide HelpBridge</source>
        <translation>隐藏 HelpBridge</translation>
    </message>
    <message>
        <source>HelpBridge is still running here. Click the icon to open it again.</source>
        <translation>HelpBridge 仍在后台运行，点击此图标即可再次打开。</translation>
    </message>
</context>
</TS>
