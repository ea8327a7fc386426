<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AnnotationEditor</name>
    <message>
        <source>Edit screenshot</source>
        <translation>编辑截图</translation>
    </message>
    <message>
        <source>Select and move</source>
        <translation>选择和移动</translation>
    </message>
    <message>
        <source>Rectangle</source>
        <translation>矩形</translation>
    </message>
    <message>
        <source>Arrow</source>
        <translation>箭头</translation>
    </message>
    <message>
        <source>Freehand</source>
        <translation>画笔</translation>
    </message>
    <message>
        <source>Text</source>
        <translation>文字</translation>
    </message>
    <message>
        <source>Numbered marker</source>
        <translation>序号标记</translation>
    </message>
    <message>
        <source>Crop</source>
        <translation>裁剪</translation>
    </message>
    <message>
        <source>Hide sensitive information</source>
        <translation>隐藏敏感信息</translation>
    </message>
    <message>
        <source>Colour</source>
        <translation>颜色</translation>
    </message>
    <message>
        <source>Red</source>
        <translation>红色</translation>
    </message>
    <message>
        <source>Orange</source>
        <translation>橙色</translation>
    </message>
    <message>
        <source>Yellow</source>
        <translation>黄色</translation>
    </message>
    <message>
        <source>Green</source>
        <translation>绿色</translation>
    </message>
    <message>
        <source>Blue</source>
        <translation>蓝色</translation>
    </message>
    <message>
        <source>Black</source>
        <translation>黑色</translation>
    </message>
    <message>
        <source>White</source>
        <translation>白色</translation>
    </message>
    <message>
        <source>Other colour…</source>
        <translation>其他颜色…</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>撤销</translation>
    </message>
    <message>
        <source>Redo</source>
        <translation>重做</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Delete the selected marks (Del)</source>
        <translation>删除选中的标注（Del）</translation>
    </message>
    <message>
        <source>Zoom to fit</source>
        <translation>适合窗口</translation>
    </message>
    <message>
        <source>Zoom to fit (Ctrl+0)</source>
        <translation>适合窗口（Ctrl+0）</translation>
    </message>
    <message>
        <source>Actual size</source>
        <translation>实际大小</translation>
    </message>
    <message>
        <source>Actual size (Ctrl+1)</source>
        <translation>实际大小（Ctrl+1）</translation>
    </message>
    <message>
        <source>Paste image</source>
        <translation>粘贴图片</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Pixelate</source>
        <translation>马赛克</translation>
    </message>
    <message>
        <source>Blur</source>
        <translation>模糊</translation>
    </message>
    <message>
        <source>Black box</source>
        <translation>黑色遮挡</translation>
    </message>
    <message>
        <source>The clipboard holds no image.</source>
        <translation>剪贴板中没有图片。</translation>
    </message>
    <message>
        <source>Preparing the image…</source>
        <translation>正在处理图片…</translation>
    </message>
    <message>
        <source>The image could not be prepared.</source>
        <translation>图片处理失败。</translation>
    </message>
    <message>
        <source>Discard changes?</source>
        <translation>放弃修改？</translation>
    </message>
    <message>
        <source>Close the editor and discard your marks on this picture?</source>
        <translation>关闭编辑器并放弃对这张图片的标注？</translation>
    </message>
    <message>
        <source>Hide information</source>
        <translation>隐藏信息</translation>
    </message>
    <message>
        <source>Move</source>
        <translation>移动</translation>
    </message>
    <message>
        <source>Edit text</source>
        <translation>编辑文字</translation>
    </message>
    <message>
        <source>Replace the picture?</source>
        <translation>替换图片？</translation>
    </message>
    <message>
        <source>Replace the current picture? Your marks on it will be lost.</source>
        <translation>要替换当前图片吗？图片上的标注将会丢失。</translation>
    </message>
    <message>
        <source>Opening the image…</source>
        <translation>正在打开图片…</translation>
    </message>
    <message>
        <source>The image could not be opened.</source>
        <translation>无法打开图片。</translation>
    </message>
    <message>
        <source>Only image files can be opened in the editor.</source>
        <translation>编辑器只能打开图片文件。</translation>
    </message>
    <message>
        <source>Paste a screenshot with Ctrl+V, or drop an image file here.</source>
        <translation>按 Ctrl+V 粘贴截图，或将图片文件拖放到这里。</translation>
    </message>
    <message>
        <source>%1 × %2 px · %3%</source>
        <translation>%1 × %2 像素 · %3%</translation>
    </message>
    <message>
        <source>Annotation colour</source>
        <translation>标注颜色</translation>
    </message>
</context>
<context>
    <name>AssistController</name>
    <message>
        <source>The support agent</source>
        <translation>客服人员</translation>
    </message>
    <message>
        <source>You ended the remote assist session. Your screen is no longer shared.</source>
        <translation>您已结束远程协助，您的屏幕不再共享。</translation>
    </message>
    <message>
        <source>{agent} ended the remote assist session.</source>
        <translation>{agent} 已结束远程协助。</translation>
    </message>
    <message>
        <source>The remote assist session ended because the connection was lost.</source>
        <translation>由于连接中断，远程协助已结束。</translation>
    </message>
    <message>
        <source>The remote assist session ended because it was idle for too long.</source>
        <translation>由于长时间无操作，远程协助已结束。</translation>
    </message>
    <message>
        <source>The support service ended the remote assist session.</source>
        <translation>客服系统已结束远程协助。</translation>
    </message>
    <message>
        <source>Your screen is no longer shared.</source>
        <translation>您的屏幕不再共享。</translation>
    </message>
    <message>
        <source>Remote assist ended</source>
        <translation>远程协助已结束</translation>
    </message>
</context>
<context>
    <name>AttachmentBox</name>
    <message>
        <source>Add files…</source>
        <translation>添加文件…</translation>
    </message>
    <message>
        <source>Screenshot</source>
        <translation>截图</translation>
    </message>
    <message>
        <source>Select a region…</source>
        <translation>选择区域…</translation>
    </message>
    <message>
        <source>Whole screen</source>
        <translation>整个屏幕</translation>
    </message>
    <message>
        <source>A window…</source>
        <translation>单个窗口…</translation>
    </message>
    <message>
        <source>Paste image</source>
        <translation>粘贴图片</translation>
    </message>
    <message>
        <source>Attach the picture on the clipboard (Ctrl+V)</source>
        <translation>附加剪贴板中的图片（Ctrl+V）</translation>
    </message>
    <message>
        <source>or drop files here</source>
        <translation>或将文件拖放到这里</translation>
    </message>
    <message>
        <source>Attach files</source>
        <translation>添加附件</translation>
    </message>
    <message>
        <source>The files could not be checked. Please try again.</source>
        <translation>无法检查这些文件，请重试。</translation>
    </message>
    <message>
        <source>The clipboard holds no picture or file to attach.</source>
        <translation>剪贴板中没有可附加的图片或文件。</translation>
    </message>
</context>
<context>
    <name>Banner</name>
    <message>
        <source>Dismiss</source>
        <translation>关闭</translation>
    </message>
</context>
<context>
    <name>CaptureImages</name>
    <message>
        <source>This image is too large. Images may be at most %1 pixels wide or high.</source>
        <translation>图片太大。图片的宽度或高度最多为 %1 像素。</translation>
    </message>
    <message>
        <source>This file is damaged or is not an image HelpBridge can read.</source>
        <translation>此文件已损坏，或不是 HelpBridge 能读取的图片。</translation>
    </message>
    <message>
        <source>This image is empty.</source>
        <translation>图片是空的。</translation>
    </message>
    <message>
        <source>The file no longer exists.</source>
        <translation>文件已不存在。</translation>
    </message>
    <message>
        <source>The file cannot be read. Check that you may open it.</source>
        <translation>无法读取文件。请检查您是否有权限打开它。</translation>
    </message>
    <message>
        <source>This image cannot be used.</source>
        <translation>无法使用此图片。</translation>
    </message>
</context>
<context>
    <name>Chat</name>
    <message>
        <source>Write a message… (Shift+Enter for a new line)</source>
        <translation>输入消息…（Shift+Enter 换行）</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>消息</translation>
    </message>
    <message>
        <source>Remove this file</source>
        <translation>移除此文件</translation>
    </message>
    <message>
        <source>Screenshot</source>
        <translation>截图</translation>
    </message>
    <message>
        <source>Take a screenshot and mark it up before sending</source>
        <translation>截取屏幕并在发送前标注</translation>
    </message>
    <message>
        <source>Attach</source>
        <translation>附件</translation>
    </message>
    <message>
        <source>Attach a file</source>
        <translation>添加文件</translation>
    </message>
    <message>
        <source>Send</source>
        <translation>发送</translation>
    </message>
    <message>
        <source>Send (Enter)</source>
        <translation>发送（Enter）</translation>
    </message>
    <message>
        <source>A message can carry at most 10 files.</source>
        <translation>一条消息最多可带 10 个文件。</translation>
    </message>
    <message>
        <source>“{name}” is empty.</source>
        <translation>“{name}”是空文件。</translation>
    </message>
    <message>
        <source>“{name}” is larger than 20 MB and cannot be sent.</source>
        <translation>“{name}”超过 20 MB，无法发送。</translation>
    </message>
    <message>
        <source>Open this article</source>
        <translation>打开这篇文章</translation>
    </message>
    <message>
        <source>Assistant</source>
        <translation>智能助手</translation>
    </message>
    <message>
        <source>Support</source>
        <translation>技术支持</translation>
    </message>
    <message>
        <source>Save and open this file</source>
        <translation>保存并打开此文件</translation>
    </message>
    <message>
        <source>Yes</source>
        <translation>是的，解决了</translation>
    </message>
    <message>
        <source>No, talk to a person</source>
        <translation>没有，转人工</translation>
    </message>
    <message>
        <source>⟳ Retry</source>
        <translation>⟳ 重试</translation>
    </message>
    <message>
        <source>Send this message again</source>
        <translation>重新发送这条消息</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Do not send this message</source>
        <translation>不发送这条消息</translation>
    </message>
    <message>
        <source>Sending…</source>
        <translation>正在发送…</translation>
    </message>
    <message>
        <source>Sent ✓</source>
        <translation>已发送 ✓</translation>
    </message>
    <message>
        <source>Read ✓✓</source>
        <translation>已读 ✓✓</translation>
    </message>
    <message>
        <source>Not sent</source>
        <translation>未发送</translation>
    </message>
    <message>
        <source>Our assistant answers first; you can ask for a person at any time.</source>
        <translation>先由智能助手为您解答；您随时可以转人工。</translation>
    </message>
    <message>
        <source>Waiting for the next available person…</source>
        <translation>正在等待空闲的客服人员…</translation>
    </message>
    <message>
        <source>{name} is helping you</source>
        <translation>{name} 正在为您服务</translation>
    </message>
    <message>
        <source>A support person is helping you</source>
        <translation>客服人员正在为您服务</translation>
    </message>
    <message>
        <source>This conversation has ended. Write to start a new one.</source>
        <translation>本次会话已结束。发送消息即可开始新的会话。</translation>
    </message>
    <message>
        <source>Ask a question; we usually answer within minutes.</source>
        <translation>请提出您的问题，我们通常会在几分钟内答复。</translation>
    </message>
    <message>
        <source>Online</source>
        <translation>在线</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <source>Sign in from your application to chat</source>
        <translation>请从您的应用程序登录后再使用在线咨询</translation>
    </message>
    <message>
        <source>Chat is not available right now</source>
        <translation>在线咨询暂不可用</translation>
    </message>
    <message>
        <source>Reconnecting in {n} s</source>
        <translation>{n} 秒后重新连接</translation>
    </message>
    <message>
        <source>Reconnecting…</source>
        <translation>正在重新连接…</translation>
    </message>
    <message>
        <source>Offline</source>
        <translation>离线</translation>
    </message>
    <message>
        <source>Messages you write now are kept and sent when the connection is back.</source>
        <translation>您现在写的消息会保存下来，连接恢复后自动发送。</translation>
    </message>
    <message>
        <source>Write a message or attach a file first.</source>
        <translation>请先输入消息或添加文件。</translation>
    </message>
    <message>
        <source>This message is too long. Please split it into several messages.</source>
        <translation>消息太长，请分成几条发送。</translation>
    </message>
    <message>
        <source>This conversation is not available to you any more.</source>
        <translation>您已无法访问此会话。</translation>
    </message>
    <message>
        <source>This conversation no longer exists.</source>
        <translation>此会话已不存在。</translation>
    </message>
    <message>
        <source>This conversation has ended.</source>
        <translation>此会话已结束。</translation>
    </message>
    <message>
        <source>You are sending very fast. Your message will be sent in a moment.</source>
        <translation>您发送得太快了，消息稍后会发出。</translation>
    </message>
    <message>
        <source>The help service cannot be reached. Check your network connection.</source>
        <translation>无法连接帮助服务，请检查网络连接。</translation>
    </message>
    <message>
        <source>The help service could not take this. Please try again.</source>
        <translation>帮助服务未能处理此请求，请重试。</translation>
    </message>
    <message>
        <source>Today</source>
        <translation>今天</translation>
    </message>
    <message>
        <source>Yesterday</source>
        <translation>昨天</translation>
    </message>
</context>
<context>
    <name>ChatPage</name>
    <message>
        <source>Ask us anything. Our assistant suggests articles at once; a person from support takes over when you ask.</source>
        <translation>有问题尽管问。智能助手会立即推荐相关文章；需要时可转接人工客服。</translation>
    </message>
    <message>
        <source>Chat with support</source>
        <translation>在线咨询</translation>
    </message>
    <message>
        <source>Talk to a person</source>
        <translation>转人工</translation>
    </message>
    <message>
        <source>Leave the assistant and wait for a person from support</source>
        <translation>离开智能助手，等待人工客服</translation>
    </message>
    <message>
        <source>New conversation</source>
        <translation>新会话</translation>
    </message>
    <message>
        <source>Continued in ticket #{number}</source>
        <translation>已转为工单 #{number}</translation>
    </message>
    <message>
        <source>Open ticket</source>
        <translation>打开工单</translation>
    </message>
    <message>
        <source>Conversation ended</source>
        <translation>会话已结束</translation>
    </message>
    <message>
        <source>Loading earlier messages…</source>
        <translation>正在加载更早的消息…</translation>
    </message>
    <message>
        <source>Earlier messages cannot be loaded now.</source>
        <translation>暂时无法加载更早的消息。</translation>
    </message>
    <message>
        <source>This is the beginning of your conversation.</source>
        <translation>以上是会话的开始。</translation>
    </message>
    <message>
        <source>Scroll up for earlier messages</source>
        <translation>向上滚动查看更早的消息</translation>
    </message>
    <message>
        <source>{name} is typing…</source>
        <translation>{name} 正在输入…</translation>
    </message>
    <message>
        <source>Support is typing…</source>
        <translation>客服正在输入…</translation>
    </message>
    <message>
        <source>You are not signed in. Please open Help from your application.</source>
        <translation>您尚未登录，请从应用程序中打开帮助。</translation>
    </message>
    <message>
        <source>Uploading {n} file(s)…</source>
        <translation>正在上传 {n} 个文件…</translation>
    </message>
    <message>
        <source>The files could not be uploaded: {reason} Your message is kept.</source>
        <translation>文件上传失败：{reason} 您的消息已保留。</translation>
    </message>
    <message>
        <source>Assistant</source>
        <translation>智能助手</translation>
    </message>
    <message>
        <source>Support</source>
        <translation>技术支持</translation>
    </message>
    <message>
        <source>sent you a file</source>
        <translation>给您发送了一个文件</translation>
    </message>
    <message>
        <source>{name} (chat)</source>
        <translation>{name}（在线咨询）</translation>
    </message>
    <message>
        <source>Attach files</source>
        <translation>添加附件</translation>
    </message>
    <message>
        <source>“{name}” cannot be read.</source>
        <translation>无法读取“{name}”。</translation>
    </message>
</context>
<context>
    <name>Chip</name>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Remove {name}</source>
        <translation>移除 {name}</translation>
    </message>
</context>
<context>
    <name>CodeDialog</name>
    <message>
        <source>Get remote help</source>
        <translation>获取远程协助</translation>
    </message>
    <message>
        <source>Read this code to the support agent on the phone or in the chat. It works once; nothing is shared until you allow it.</source>
        <translation>请通过电话或聊天将此代码告诉客服人员。代码只能使用一次；在您允许之前不会共享任何内容。</translation>
    </message>
    <message>
        <source>Getting a code…</source>
        <translation>正在获取代码…</translation>
    </message>
    <message>
        <source>New code</source>
        <translation>新代码</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>This code has expired. Get a new one.</source>
        <translation>此代码已过期，请获取新代码。</translation>
    </message>
    <message>
        <source>Valid for {minutes}:{seconds:02d}</source>
        <translation>有效时间 {minutes}:{seconds:02d}</translation>
    </message>
</context>
<context>
    <name>ConsentDialog</name>
    <message>
        <source>A support agent</source>
        <translation>一位客服人员</translation>
    </message>
    <message>
        <source>Remote assist request</source>
        <translation>远程协助请求</translation>
    </message>
    <message>
        <source>Someone from support wants to see your screen</source>
        <translation>客服人员请求查看您的屏幕</translation>
    </message>
    <message>
        <source>Remote control request</source>
        <translation>远程控制请求</translation>
    </message>
    <message>
        <source>Allow control of your mouse and keyboard?</source>
        <translation>是否允许控制您的鼠标和键盘？</translation>
    </message>
    <message>
        <source>✔ Name and company verified by the support service</source>
        <translation>✔ 姓名和公司已由客服系统验证</translation>
    </message>
    <message>
        <source>Also share the clipboard (text you copy) both ways</source>
        <translation>同时双向共享剪贴板（您复制的文字）</translation>
    </message>
    <message>
        <source>Deny</source>
        <translation>拒绝</translation>
    </message>
    <message>
        <source>Allow</source>
        <translation>允许</translation>
    </message>
    <message>
        <source>{agent} asks to control this computer: they could move the mouse, click and type as if they were you. You can take control back at any moment with Stop control.</source>
        <translation>{agent} 请求控制这台电脑：对方将能像您一样移动鼠标、点击和输入。您可以随时点击“停止控制”收回控制权。</translation>
    </message>
    <message>
        <source>{agent} asks to see your screen now. They also want to control it; you will be asked about that separately. Nothing is shared until you choose Allow.</source>
        <translation>{agent} 请求现在查看您的屏幕，并希望控制它；控制权会另行征求您的同意。在您选择“允许”之前不会共享任何内容。</translation>
    </message>
    <message>
        <source>{agent} asks to see your screen (view only: they cannot click or type). Nothing is shared until you choose Allow.</source>
        <translation>{agent} 请求查看您的屏幕（仅查看：对方不能点击或输入）。在您选择“允许”之前不会共享任何内容。</translation>
    </message>
    <message>
        <source>Denied automatically in {seconds} s</source>
        <translation>{seconds} 秒后自动拒绝</translation>
    </message>
</context>
<context>
    <name>DiagnosticsDialog</name>
    <message>
        <source>Diagnostic information</source>
        <translation>诊断信息</translation>
    </message>
    <message>
        <source>This is exactly what will be attached to your ticket as diagnostics.zip. Untick anything you do not want to send.</source>
        <translation>以下内容将原样作为 diagnostics.zip 附加到您的工单。不想发送的项目请取消勾选。</translation>
    </message>
    <message>
        <source>Collecting…</source>
        <translation>正在收集…</translation>
    </message>
    <message>
        <source>The diagnostic information could not be collected.</source>
        <translation>无法收集诊断信息。</translation>
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
        <source>A file is too large. Each file may be at most 20 MB, and all files together at most 50 MB.</source>
        <translation>文件太大。每个文件最大 20 MB，所有文件合计最大 50 MB。</translation>
    </message>
    <message>
        <source>A file on this computer could not be read or written. Check that it still exists and that you may open it.</source>
        <translation>无法读取或写入本机上的文件。请检查文件是否仍然存在，以及您是否有权限打开它。</translation>
    </message>
    <message>
        <source>This was changed in the meantime. Reload and try again.</source>
        <translation>内容已被他人修改。请刷新后重试。</translation>
    </message>
    <message>
        <source>The help service does not support this.</source>
        <translation>帮助服务不支持此操作。</translation>
    </message>
    <message>
        <source>You are not signed in yet. Please open Help from your application, then try again.</source>
        <translation>您尚未登录。请从您的应用程序中打开帮助，然后重试。</translation>
    </message>
    <message>
        <source>Something went wrong. Please try again.</source>
        <translation>出现错误，请重试。</translation>
    </message>
    <message>
        <source>This ticket is no longer available.</source>
        <translation>此工单已不存在。</translation>
    </message>
    <message>
        <source>This ticket was changed in the meantime (it may have been closed). Reload it and try again; a closed ticket needs a new one.</source>
        <translation>此工单已被修改（可能已关闭）。请刷新后重试；已关闭的工单需要提交新工单。</translation>
    </message>
    <message>
        <source>The help service did not accept this ticket. Please check what you wrote.</source>
        <translation>帮助服务未接受此工单。请检查您填写的内容。</translation>
    </message>
    <message>
        <source>This ticket belongs to someone else.</source>
        <translation>此工单属于其他人。</translation>
    </message>
    <message>
        <source>It is being sent right now. Please try again in a moment.</source>
        <translation>正在发送中，请稍后再试。</translation>
    </message>
    <message>
        <source>It has already been sent.</source>
        <translation>已经发送过了。</translation>
    </message>
    <message>
        <source>An attached file is empty.</source>
        <translation>有一个附件是空文件。</translation>
    </message>
    <message>
        <source>It could not be saved on this computer: {reason}</source>
        <translation>无法保存在本机：{reason}</translation>
    </message>
</context>
<context>
    <name>ImageDropArea</name>
    <message>
        <source>Drop files or screenshots here</source>
        <translation>将文件或截图拖放到这里</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Get remote help</source>
        <translation>获取远程协助</translation>
    </message>
    <message>
        <source>Get a one-time code so that a support agent can see your screen</source>
        <translation>获取一次性代码，让客服人员查看您的屏幕</translation>
    </message>
    <message>
        <source>Tickets cannot be saved on this computer: one written while offline would be lost if HelpBridge closes.</source>
        <translation>无法在本机保存工单：离线时填写的工单会在 HelpBridge 关闭后丢失。</translation>
    </message>
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
        <source>Chat with support</source>
        <translation>在线咨询</translation>
    </message>
    <message>
        <source>Search and read help articles</source>
        <translation>搜索并阅读帮助文章</translation>
    </message>
    <message>
        <source>Write to support and follow your tickets</source>
        <translation>联系技术支持并跟进您的工单</translation>
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
        <source>Tickets ({n})</source>
        <translation>工单（{n}）</translation>
    </message>
    <message>
        <source>Support</source>
        <translation>技术支持</translation>
    </message>
    <message>
        <source>{who} replied to {number}</source>
        <translation>{who} 回复了工单 {number}</translation>
    </message>
    <message>
        <source>{number} is now “{status}”</source>
        <translation>工单 {number} 的状态已变为“{status}”</translation>
    </message>
    <message>
        <source>Your tickets are kept on this computer, but your session has ended. Please open Help again from your application to send them.</source>
        <translation>您的工单已保存在本机，但您的会话已结束。请从您的应用程序中重新打开帮助以发送它们。</translation>
    </message>
    <message>
        <source>Opened from your ticket draft. Did this article solve it? Tell us on the form.</source>
        <translation>此文章从您的工单草稿中打开。问题解决了吗？请在工单表单中告诉我们。</translation>
    </message>
    <message>
        <source>Back to my ticket</source>
        <translation>返回我的工单</translation>
    </message>
    <message>
        <source>Glad that solved it. No ticket was sent.</source>
        <translation>很高兴问题已解决。未提交工单。</translation>
    </message>
    <message>
        <source>Chat ({n})</source>
        <translation>在线咨询 ({n})</translation>
    </message>
    <message>
        <source>The new language will be used the next time HelpBridge starts.</source>
        <translation>新的语言将在下次启动 HelpBridge 时生效。</translation>
    </message>
</context>
<context>
    <name>OutboxRow</name>
    <message>
        <source>{n} file(s), {size}</source>
        <translation>{n} 个文件，{size}</translation>
    </message>
    <message>
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <source>Discard</source>
        <translation>丢弃</translation>
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
    <name>RegionSelector</name>
    <message>
        <source>Click a window to capture it  ·  Esc to cancel</source>
        <translation>单击要截取的窗口  ·  按 Esc 取消</translation>
    </message>
    <message>
        <source>Drag to select an area  ·  Click to capture the whole screen  ·  Esc to cancel</source>
        <translation>拖动选择区域  ·  单击截取整个屏幕  ·  按 Esc 取消</translation>
    </message>
</context>
<context>
    <name>ScreenCapture</name>
    <message>
        <source>Capturing a single window is not possible on this desktop.</source>
        <translation>当前桌面不支持截取单个窗口。</translation>
    </message>
    <message>
        <source>The screen could not be captured.</source>
        <translation>无法截取屏幕。</translation>
    </message>
    <message>
        <source>This desktop does not allow HelpBridge to capture the screen (for example a Wayland session). Take a screenshot with your desktop&apos;s own tool, then paste it here with Ctrl+V or drop the file.</source>
        <translation>当前桌面不允许 HelpBridge 截取屏幕（例如 Wayland 会话）。请使用桌面自带的截图工具截图，然后按 Ctrl+V 粘贴到这里，或拖放截图文件。</translation>
    </message>
    <message>
        <source>The selected area is too large (at most %1 pixels a side).</source>
        <translation>所选区域太大（每边最多 %1 像素）。</translation>
    </message>
</context>
<context>
    <name>SessionBanner</name>
    <message>
        <source>Stop control</source>
        <translation>停止控制</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>End</source>
        <translation>结束</translation>
    </message>
    <message>
        <source>A support agent</source>
        <translation>一位客服人员</translation>
    </message>
    <message>
        <source>Paused: {agent} cannot see your screen</source>
        <translation>已暂停：{agent} 看不到您的屏幕</translation>
    </message>
    <message>
        <source>{agent} from {company} is controlling your screen</source>
        <translation>{company} 的 {agent} 正在控制您的屏幕</translation>
    </message>
    <message>
        <source>{agent} is controlling your screen</source>
        <translation>{agent} 正在控制您的屏幕</translation>
    </message>
    <message>
        <source>{agent} from {company} is viewing your screen</source>
        <translation>{company} 的 {agent} 正在查看您的屏幕</translation>
    </message>
    <message>
        <source>{agent} is viewing your screen</source>
        <translation>{agent} 正在查看您的屏幕</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>继续</translation>
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
    <name>TicketForm</name>
    <message>
        <source>New ticket</source>
        <translation>新建工单</translation>
    </message>
    <message>
        <source>From your application:</source>
        <translation>来自您的应用程序：</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>主题</translation>
    </message>
    <message>
        <source>A few words about the problem, e.g. “Invoice will not print”</source>
        <translation>用几个词概括问题，例如“发票无法打印”</translation>
    </message>
    <message>
        <source>We reply here and let you know when we do.</source>
        <translation>我们会在这里回复，并在回复时通知您。</translation>
    </message>
    <message>
        <source>&amp;Subject</source>
        <translation>主题(&amp;S)</translation>
    </message>
    <message>
        <source>Category</source>
        <translation>分类</translation>
    </message>
    <message>
        <source>Urgency</source>
        <translation>紧急程度</translation>
    </message>
    <message>
        <source>Impact</source>
        <translation>影响范围</translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation>请选择…</translation>
    </message>
    <message>
        <source>Other</source>
        <translation>其他</translation>
    </message>
    <message>
        <source>Priority</source>
        <translation>优先级</translation>
    </message>
    <message>
        <source>Worked out from urgency and impact.</source>
        <translation>根据紧急程度和影响范围自动计算。</translation>
    </message>
    <message>
        <source>&amp;Description</source>
        <translation>问题描述(&amp;D)</translation>
    </message>
    <message>
        <source>Description</source>
        <translation>问题描述</translation>
    </message>
    <message>
        <source>What were you doing, what happened, and what did you expect? Steps to repeat it help us most.</source>
        <translation>您当时在做什么？发生了什么？您期望的结果是什么？复现步骤对我们最有帮助。</translation>
    </message>
    <message>
        <source>Attach diagnostic information</source>
        <translation>附加诊断信息</translation>
    </message>
    <message>
        <source>Versions, the recent log and settings; never passwords or sign-in keys.</source>
        <translation>版本、最近的日志和设置；绝不包含密码或登录密钥。</translation>
    </message>
    <message>
        <source>Review…</source>
        <translation>查看内容…</translation>
    </message>
    <message>
        <source>These articles may already answer it:</source>
        <translation>这些文章也许能解答您的问题：</translation>
    </message>
    <message>
        <source>Yes, it is solved</source>
        <translation>是的，已解决</translation>
    </message>
    <message>
        <source>No, I still need help</source>
        <translation>没有，仍需帮助</translation>
    </message>
    <message>
        <source>Discard draft</source>
        <translation>丢弃草稿</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Close the form; your draft is kept</source>
        <translation>关闭表单；草稿会被保留</translation>
    </message>
    <message>
        <source>Submit ticket</source>
        <translation>提交工单</translation>
    </message>
    <message>
        <source>Submit (Ctrl+Enter)</source>
        <translation>提交（Ctrl+Enter）</translation>
    </message>
    <message>
        <source>Error {code}</source>
        <translation>错误 {code}</translation>
    </message>
    <message>
        <source>Did “{title}” solve it?</source>
        <translation>“{title}”解决了您的问题吗？</translation>
    </message>
    <message>
        <source>{n} of {total} items chosen</source>
        <translation>已选择 {n}/{total} 项</translation>
    </message>
    <message>
        <source>Draft saved</source>
        <translation>草稿已保存</translation>
    </message>
    <message>
        <source>Draft restored</source>
        <translation>已恢复草稿</translation>
    </message>
    <message>
        <source>Discard this draft?</source>
        <translation>丢弃此草稿？</translation>
    </message>
    <message>
        <source>What you wrote and attached here will be deleted.</source>
        <translation>您在此填写的内容和添加的附件将被删除。</translation>
    </message>
    <message>
        <source>Please write a subject: a few words about the problem.</source>
        <translation>请填写主题：用几个词概括问题。</translation>
    </message>
    <message>
        <source>The description is too long (at most {n} characters).</source>
        <translation>问题描述太长（最多 {n} 个字符）。</translation>
    </message>
    <message>
        <source>Please wait until the attached files are checked.</source>
        <translation>请等待附件检查完成。</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>正在保存…</translation>
    </message>
</context>
<context>
    <name>TicketRow</name>
    <message>
        <source>New answer</source>
        <translation>有新回复</translation>
    </message>
</context>
<context>
    <name>TicketView</name>
    <message>
        <source>Mark as resolved</source>
        <translation>标记为已解决</translation>
    </message>
    <message>
        <source>Tell support the problem is solved</source>
        <translation>告诉技术支持问题已解决</translation>
    </message>
    <message>
        <source>Reopen</source>
        <translation>重新打开</translation>
    </message>
    <message>
        <source>How did we do?</source>
        <translation>您对我们的服务满意吗？</translation>
    </message>
    <message>
        <source>{n} of 5</source>
        <translation>{n} 星（共 5 星）</translation>
    </message>
    <message>
        <source>Anything to add? (optional)</source>
        <translation>还有什么想说的？（可选）</translation>
    </message>
    <message>
        <source>Send rating</source>
        <translation>提交评价</translation>
    </message>
    <message>
        <source>Write a reply…</source>
        <translation>输入回复…</translation>
    </message>
    <message>
        <source>Reply</source>
        <translation>回复</translation>
    </message>
    <message>
        <source>Send reply</source>
        <translation>发送回复</translation>
    </message>
    <message>
        <source>Send (Ctrl+Enter)</source>
        <translation>发送（Ctrl+Enter）</translation>
    </message>
    <message>
        <source>Write a new ticket</source>
        <translation>新建工单</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>This ticket cannot be shown while offline.</source>
        <translation>离线时无法显示此工单。</translation>
    </message>
    <message>
        <source>opened {when}</source>
        <translation>创建于 {when}</translation>
    </message>
    <message>
        <source>handled by {name}</source>
        <translation>处理人：{name}</translation>
    </message>
    <message>
        <source>This ticket is closed. If you still need help, please write a new ticket.</source>
        <translation>此工单已关闭。如仍需帮助，请提交新工单。</translation>
    </message>
    <message>
        <source>Writing a reply opens this ticket again.</source>
        <translation>回复将重新打开此工单。</translation>
    </message>
    <message>
        <source>Support is waiting for your answer.</source>
        <translation>技术支持正在等待您的答复。</translation>
    </message>
    <message>
        <source>This is taking longer than we aimed for. Sorry — it has been flagged to the team.</source>
        <translation>处理时间已超出我们的承诺，非常抱歉——已提醒团队优先处理。</translation>
    </message>
    <message>
        <source>We aim to reply by {when}</source>
        <translation>我们将争取在 {when} 前回复</translation>
    </message>
    <message>
        <source>We aim to solve this by {when}</source>
        <translation>我们将争取在 {when} 前解决</translation>
    </message>
    <message>
        <source>You</source>
        <translation>您</translation>
    </message>
    <message>
        <source>Support</source>
        <translation>技术支持</translation>
    </message>
    <message>
        <source>Opened this ticket.</source>
        <translation>创建了此工单。</translation>
    </message>
    <message>
        <source>You set the status to {status}</source>
        <translation>您将状态改为“{status}”</translation>
    </message>
    <message>
        <source>{name} set the status to {status}</source>
        <translation>{name} 将状态改为“{status}”</translation>
    </message>
    <message>
        <source>Status: {status}</source>
        <translation>状态：{status}</translation>
    </message>
    <message>
        <source>{name} is handling your ticket</source>
        <translation>{name} 正在处理您的工单</translation>
    </message>
    <message>
        <source>You rated the support</source>
        <translation>您评价了本次服务</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <source>Your rating</source>
        <translation>您的评价</translation>
    </message>
    <message>
        <source>Thank you for your feedback.</source>
        <translation>感谢您的反馈。</translation>
    </message>
    <message>
        <source>Write a reply or attach a file first.</source>
        <translation>请先输入回复或添加附件。</translation>
    </message>
    <message>
        <source>Please wait until the attached files are checked.</source>
        <translation>请等待附件检查完成。</translation>
    </message>
    <message>
        <source>Save attachment</source>
        <translation>保存附件</translation>
    </message>
    <message>
        <source>Downloading {name}…</source>
        <translation>正在下载 {name}…</translation>
    </message>
    <message>
        <source>Saved {name}</source>
        <translation>已保存 {name}</translation>
    </message>
    <message>
        <source>Discard this reply?</source>
        <translation>丢弃此回复？</translation>
    </message>
    <message>
        <source>It has not reached support and will be deleted from this computer.</source>
        <translation>此回复尚未送达技术支持，将从本机删除。</translation>
    </message>
</context>
<context>
    <name>Tickets</name>
    <message>
        <source>Product</source>
        <translation>产品</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>版本</translation>
    </message>
    <message>
        <source>Module</source>
        <translation>模块</translation>
    </message>
    <message>
        <source>Error code</source>
        <translation>错误代码</translation>
    </message>
    <message>
        <source>App and system</source>
        <translation>应用和系统</translation>
    </message>
    <message>
        <source>Application context</source>
        <translation>应用程序上下文</translation>
    </message>
    <message>
        <source>Recent log</source>
        <translation>最近的日志</translation>
    </message>
    <message>
        <source>Screens</source>
        <translation>显示器</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>HelpBridge, Qt, Python and operating system versions.</source>
        <translation>HelpBridge、Qt、Python 和操作系统的版本。</translation>
    </message>
    <message>
        <source>What the application you asked for help from told HelpBridge (e.g. the module and version you were using).</source>
        <translation>您求助时所用的应用程序告诉 HelpBridge 的信息（例如您当时使用的模块和版本）。</translation>
    </message>
    <message>
        <source>The last lines of HelpBridge&apos;s own log, with sign-in secrets removed.</source>
        <translation>HelpBridge 自身日志的最后若干行，已去除登录凭据。</translation>
    </message>
    <message>
        <source>Number, size and scaling of your screens (no screen content).</source>
        <translation>显示器的数量、尺寸和缩放比例（不含屏幕内容）。</translation>
    </message>
    <message>
        <source>HelpBridge&apos;s settings, without passwords or keys.</source>
        <translation>HelpBridge 的设置，不含密码或密钥。</translation>
    </message>
    <message>
        <source>New</source>
        <translation>新建</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>处理中</translation>
    </message>
    <message>
        <source>Waiting for your reply</source>
        <translation>等待您回复</translation>
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
        <source>High</source>
        <translation>高</translation>
    </message>
    <message>
        <source>Medium</source>
        <translation>中</translation>
    </message>
    <message>
        <source>Low</source>
        <translation>低</translation>
    </message>
    <message>
        <source>I cannot work at all right now.</source>
        <translation>我现在完全无法工作。</translation>
    </message>
    <message>
        <source>My work is slowed down, but I can go on for now.</source>
        <translation>工作受到影响，但暂时还能继续。</translation>
    </message>
    <message>
        <source>It can wait; a question or a small issue.</source>
        <translation>不着急；一般咨询或小问题。</translation>
    </message>
    <message>
        <source>The whole company or many people.</source>
        <translation>整个公司或很多人。</translation>
    </message>
    <message>
        <source>A team or a department.</source>
        <translation>一个团队或部门。</translation>
    </message>
    <message>
        <source>Only me.</source>
        <translation>只有我自己。</translation>
    </message>
    <message>
        <source>Critical</source>
        <translation>紧急</translation>
    </message>
    <message>
        <source>Normal</source>
        <translation>普通</translation>
    </message>
    <message>
        <source>Planning</source>
        <translation>计划</translation>
    </message>
    <message>
        <source>{n} B</source>
        <translation>{n} 字节</translation>
    </message>
    <message>
        <source>just now</source>
        <translation>刚刚</translation>
    </message>
    <message>
        <source>{n} min ago</source>
        <translation>{n} 分钟前</translation>
    </message>
    <message>
        <source>{n} h ago</source>
        <translation>{n} 小时前</translation>
    </message>
    <message>
        <source>yesterday</source>
        <translation>昨天</translation>
    </message>
    <message>
        <source>{n} days ago</source>
        <translation>{n} 天前</translation>
    </message>
    <message>
        <source>{name} is {size}; a file may be at most {limit}.</source>
        <translation>{name} 大小为 {size}；每个文件最大 {limit}。</translation>
    </message>
    <message>
        <source>{name} was not added: all files together may be at most {limit}.</source>
        <translation>未添加 {name}：所有文件合计最大 {limit}。</translation>
    </message>
    <message>
        <source>{name} is empty.</source>
        <translation>{name} 是空文件。</translation>
    </message>
    <message>
        <source>{name} no longer exists.</source>
        <translation>{name} 已不存在。</translation>
    </message>
    <message>
        <source>{name} is not a file.</source>
        <translation>{name} 不是文件。</translation>
    </message>
    <message>
        <source>{name} was not added: at most {n} files can be attached.</source>
        <translation>未添加 {name}：最多只能添加 {n} 个文件。</translation>
    </message>
    <message>
        <source>{name} cannot be read. Check that you may open it.</source>
        <translation>无法读取 {name}。请检查您是否有权限打开它。</translation>
    </message>
    <message>
        <source>Sent</source>
        <translation>已发送</translation>
    </message>
    <message>
        <source>Not sent</source>
        <translation>未发送</translation>
    </message>
    <message>
        <source>Sending… {percent}%</source>
        <translation>正在发送… {percent}%</translation>
    </message>
    <message>
        <source>Saved — will be sent once you are signed in again</source>
        <translation>已保存——重新登录后将自动发送</translation>
    </message>
    <message>
        <source>Saved — will be sent when the connection is back</source>
        <translation>已保存——网络恢复后将自动发送</translation>
    </message>
    <message>
        <source>Sending…</source>
        <translation>正在发送…</translation>
    </message>
    <message>
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <source>Discard</source>
        <translation>丢弃</translation>
    </message>
</context>
<context>
    <name>TicketsPanel</name>
    <message>
        <source>MY TICKETS</source>
        <translation>我的工单</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>New ticket</source>
        <translation>新建工单</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>未完成</translation>
    </message>
    <message>
        <source>All</source>
        <translation>全部</translation>
    </message>
    <message>
        <source>Need a hand from a person?</source>
        <translation>需要人工帮助吗？</translation>
    </message>
    <message>
        <source>Open Help from your application to sign in; then you can write to support here.</source>
        <translation>请从您的应用程序中打开帮助以登录，然后即可在这里联系技术支持。</translation>
    </message>
    <message>
        <source>Saved — will be sent when the connection is back. You can close HelpBridge; nothing is lost.</source>
        <translation>已保存——网络恢复后将自动发送。您可以关闭 HelpBridge，内容不会丢失。</translation>
    </message>
    <message>
        <source>Thank you. Your ticket is on its way to support.</source>
        <translation>谢谢。您的工单正在发送给技术支持。</translation>
    </message>
    <message>
        <source>Write a ticket and our support team will answer here. You will get a notification when they do.</source>
        <translation>提交工单后，我们的技术支持团队会在这里回复，回复时您会收到通知。</translation>
    </message>
    <message>
        <source>Ticket saved</source>
        <translation>工单已保存</translation>
    </message>
    <message>
        <source>Not signed in.</source>
        <translation>尚未登录。</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>Your tickets will appear when the connection is back.</source>
        <translation>网络恢复后将显示您的工单。</translation>
    </message>
    <message>
        <source>No tickets yet.</source>
        <translation>还没有工单。</translation>
    </message>
    <message>
        <source>No open tickets. Choose “All” to see the others.</source>
        <translation>没有未完成的工单。选择“全部”可查看其他工单。</translation>
    </message>
    <message>
        <source>Discard this ticket?</source>
        <translation>丢弃此工单？</translation>
    </message>
    <message>
        <source>“{subject}” has not reached support. It will be deleted from this computer.</source>
        <translation>“{subject}”尚未送达技术支持，将从本机删除。</translation>
    </message>
    <message>
        <source>Tickets</source>
        <translation>工单</translation>
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
        <source>HelpBridge — {n} unread</source>
        <translation>HelpBridge — {n} 条未读</translation>
    </message>
    <message>
        <source>HelpBridge is still running here. Click the icon to open it again.</source>
        <translation>HelpBridge 仍在后台运行，点击此图标即可再次打开。</translation>
    </message>
</context>
<context>
    <name>_ScreenOverlay</name>
    <message>
        <source>Screen capture</source>
        <translation>屏幕截图</translation>
    </message>
</context>
</TS>
